-- Projects' inference API keys are stored sealed (server::secrets): the sealed text of a
-- 500-character key is about 750 characters. Keys stored in plain text before are sealed
-- by the next `verdict serve` or `verdict migrate`, which hold the secret key.
ALTER TABLE projects DROP CONSTRAINT projects_inference_api_key_check,
    ADD CONSTRAINT projects_inference_api_key_check CHECK (length(inference_api_key) <= 1000);
