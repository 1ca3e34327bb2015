-- A request to cancel the running turn, for the lease holder to act on.
-- See store.Turns.RequestCancel.
ALTER TABLE sessions ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
