-- Revocable admin sessions, version 7. Only adds.

-- A session cookie is signed, not stored: it cannot be taken back. Each admin's sessions
-- carry the generation they were opened in, and a session is valid only while it matches
-- this number; logging out and resetting the password raise it, ending every session of
-- that admin, copied cookies included.
ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
