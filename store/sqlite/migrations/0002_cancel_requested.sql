-- A request to cancel the running turn, for the lease holder to act on:
-- 1 when set, 0 otherwise. See store.Turns.RequestCancel.
ALTER TABLE sessions ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
