-- People who use the browser UI. Model backends authenticate with API tokens instead.
CREATE TYPE user_role AS ENUM ('annotator', 'admin');

CREATE TABLE users (
    user_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Stored as typed; uniqueness and look-ups are case-insensitive through the index below.
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    -- PHC string of an argon2id hash; never the password.
    password_hash text NOT NULL,
    role          user_role NOT NULL DEFAULT 'annotator',
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Failed logins, kept in the database (not in process memory) so that throttling holds
-- across every server process sharing this database.
CREATE TABLE login_failures (
    login_failure_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email            text NOT NULL,
    failed_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX login_failures_email_time ON login_failures (lower(email), failed_at);
