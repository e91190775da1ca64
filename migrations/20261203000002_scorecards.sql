-- Scorecards: each annotator's agreement with the consensus of the others (leave one out),
-- kept in the annotator pairs' totals as the pair (user, user).
ALTER TABLE agreement_pairs DROP CONSTRAINT agreement_pairs_check;
ALTER TABLE agreement_pairs ADD CONSTRAINT agreement_pairs_check CHECK (user_a <= user_b);

-- Items counted before are counted again (their parts gain these cells).
INSERT INTO agreement_marks (item_id, project_id)
SELECT item_id, project_id FROM item_agreement WHERE annotators >= 2
ON CONFLICT (item_id) DO NOTHING;
