-- The count of a project's live usage rows of some resources, read with a fresh snapshot.
--
-- Nova checks a reservation against the project's total over every user's usage row.  One
-- statement that locks those rows FOR UPDATE sees the locked rows as they are once it holds
-- them, but a row another user *created* after the statement began is invisible to it (a
-- phantom: READ COMMITTED takes the snapshot when the statement starts), so the total can
-- miss a reservation and two callers can pass a limit together.  A VOLATILE plpgsql
-- function runs its query with a new snapshot: the one-statement reserve compares this
-- count with the rows it locked and, when they differ, takes the slow path, a transaction
-- whose later statements see the new row.  Creators lock the project's existing rows before
-- inserting, so no row can appear once the reserve holds them.
CREATE OR REPLACE FUNCTION rawdb_live_usage_rows(project text, resources text[]) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN (SELECT count(*) FROM quota_usages
            WHERE project_id = project AND resource = ANY(resources) AND deleted = 0);
END
$$;
