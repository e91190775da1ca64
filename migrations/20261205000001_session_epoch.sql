-- A user's sessions carry the epoch they were signed in at; raising it (a new password,
-- an admin's "sign out everywhere") ends every one of them at their next request.
ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0;
