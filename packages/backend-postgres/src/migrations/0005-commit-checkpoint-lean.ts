import { sql } from 'kysely';
import { COMMIT_STATES } from './0003-commit-checkpoint-function.js';
import type { Migration } from './migration.js';

/**
 * The commit function of 0003 with the same signature, locks and errors, and less work per save:
 * - blobs go in the order the client sends them (sorted by hash, so concurrent saves of a run still lock rows in
 *   one order) instead of being sorted with their data here (a multi-megabyte sort spilled to disk); no blob
 *   statement at all when there are none;
 * - one statement for the head: the compare-and-set is the head row's UPDATE (or INSERT for an empty run), which
 *   also moves it, where 0003 locked the row, then upserted it.
 * Each statement of a plpgsql function costs an executor start and stop, a sizeable part of a small save.
 */
export const commitCheckpointLean: Migration = {
  name: '0005-commit-checkpoint-lean',
  async up(db, t) {
    const s = t.sql;
    const { leaseLost, runLocked, headMoved } = COMMIT_STATES;
    await sql`CREATE OR REPLACE FUNCTION ${s.commitCheckpoint}(
        p_id text, p_flow_id text, p_workflow_id text, p_run_id text, p_seq integer, p_parent_id text, p_status text,
        p_tenant_id text, p_pending_input boolean, p_created_at double precision, p_updated_at double precision, p_body text,
        p_hashes text[], p_data text[], p_check_head boolean, p_expected_head text, p_lease_owner text, p_lease_token bigint)
      RETURNS void LANGUAGE plpgsql AS $fn$
      DECLARE
        cur record;
        has_lease boolean;
        head text;
      BEGIN
        SELECT owner, token, expires_at > clock_timestamp() AS live INTO cur FROM ${s.leases} WHERE run_id = p_run_id FOR UPDATE;
        has_lease := FOUND;
        IF p_lease_owner IS NOT NULL THEN
          IF NOT has_lease OR cur.owner <> p_lease_owner OR cur.token <> p_lease_token OR NOT cur.live THEN
            RAISE EXCEPTION 'lease lost' USING ERRCODE = ${sql.lit(leaseLost)},
              DETAIL = coalesce(cur.owner, ''), HINT = coalesce(cur.token::text, '');
          END IF;
        ELSIF has_lease AND cur.live THEN
          RAISE EXCEPTION 'run locked' USING ERRCODE = ${sql.lit(runLocked)}, DETAIL = cur.owner;
        END IF;

        IF cardinality(p_hashes) > 0 THEN
          -- ORDER BY the ordinality keeps the client's order without a sort. (Not p_data[i]: the planner folds the
          -- parameter into a flat constant, where reaching element i walks the i - 1 before it.)
          INSERT INTO ${s.blobs} (run_id, hash, data)
            SELECT p_run_id, b.hash, b.data FROM unnest(p_hashes, p_data) WITH ORDINALITY AS b(hash, data, i) ORDER BY b.i
            ON CONFLICT DO NOTHING;
        END IF;

        IF NOT p_check_head THEN
          -- The head is the highest seq written, whatever the order in which writers commit.
          INSERT INTO ${s.heads} AS h (run_id, checkpoint_id, seq) VALUES (p_run_id, p_id, p_seq)
            ON CONFLICT (run_id) DO UPDATE SET checkpoint_id = excluded.checkpoint_id, seq = excluded.seq
            WHERE excluded.seq > h.seq;
        ELSIF p_expected_head IS NULL THEN
          -- The run must be empty: claiming its head row is the compare-and-set.
          INSERT INTO ${s.heads} (run_id, checkpoint_id, seq) VALUES (p_run_id, p_id, p_seq) ON CONFLICT (run_id) DO NOTHING;
          IF NOT FOUND THEN
            SELECT checkpoint_id INTO head FROM ${s.heads} WHERE run_id = p_run_id;
            RAISE EXCEPTION 'head moved' USING ERRCODE = ${sql.lit(headMoved)}, DETAIL = coalesce(head, '');
          END IF;
        ELSE
          -- Matching the expected head is the compare-and-set (re-checked on the newest row version when a
          -- concurrent writer held it); the head still only moves to a higher seq.
          UPDATE ${s.heads} SET checkpoint_id = CASE WHEN p_seq > seq THEN p_id ELSE checkpoint_id END, seq = greatest(seq, p_seq)
            WHERE run_id = p_run_id AND checkpoint_id = p_expected_head;
          IF NOT FOUND THEN
            SELECT checkpoint_id INTO head FROM ${s.heads} WHERE run_id = p_run_id;
            RAISE EXCEPTION 'head moved' USING ERRCODE = ${sql.lit(headMoved)}, DETAIL = coalesce(head, '');
          END IF;
        END IF;

        -- A duplicate id or seq is the unique violation 23505, named by its constraint; it undoes the head move too.
        INSERT INTO ${s.headers} (id, flow_id, workflow_id, run_id, seq, parent_id, status, tenant_id, pending_input, created_at, updated_at, body)
          VALUES (p_id, p_flow_id, p_workflow_id, p_run_id, p_seq, p_parent_id, p_status, p_tenant_id, p_pending_input, p_created_at, p_updated_at, p_body);
      END
      $fn$`.execute(db);
  },
};
