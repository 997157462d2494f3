import { sql } from 'kysely';
import type { Migration } from './migration.js';

/**
 * Custom SQLSTATEs the commit function raises (class `SP`, unused by PostgreSQL), mapped back to typed errors by
 * the backend. DETAIL / HINT carry what the error message needs (empty string for "none").
 */
export const COMMIT_STATES = {
  /** DETAIL: current lease owner, HINT: its token. */
  leaseLost: 'SP001',
  /** DETAIL: the owner holding the run. */
  runLocked: 'SP002',
  /** DETAIL: the current head id. */
  headMoved: 'SP003',
} as const;

/**
 * A checkpoint commit as one function, so a save is one statement: one transaction and one round trip instead
 * of BEGIN, fence, head lock, insert, head upsert, COMMIT. Same steps and locks as the former client-side
 * transaction: the lease row is locked first (the lease in force at the commit is the one checked, by the
 * database clock), blobs go in sorted by hash and before any head lock (every writer takes row locks in one
 * order, so concurrent saves of a run cannot deadlock), then compare-and-set on the locked head row, the header
 * insert (a duplicate id or seq is the unique violation 23505, named by its constraint) and the head move.
 */
export const commitCheckpointFunction: Migration = {
  name: '0003-commit-checkpoint-function',
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

        INSERT INTO ${s.blobs} (run_id, hash, data)
          SELECT p_run_id, b.hash, b.data FROM unnest(p_hashes, p_data) AS b(hash, data) ORDER BY b.hash
          ON CONFLICT DO NOTHING;

        IF p_check_head AND p_expected_head IS NULL THEN
          -- The run must be empty: claiming its head row is the compare-and-set.
          INSERT INTO ${s.heads} (run_id, checkpoint_id, seq) VALUES (p_run_id, p_id, p_seq) ON CONFLICT (run_id) DO NOTHING;
          IF NOT FOUND THEN
            SELECT checkpoint_id INTO head FROM ${s.heads} WHERE run_id = p_run_id;
            RAISE EXCEPTION 'head moved' USING ERRCODE = ${sql.lit(headMoved)}, DETAIL = coalesce(head, '');
          END IF;
        ELSIF p_check_head THEN
          SELECT checkpoint_id INTO head FROM ${s.heads} WHERE run_id = p_run_id FOR UPDATE;
          IF head IS DISTINCT FROM p_expected_head THEN
            RAISE EXCEPTION 'head moved' USING ERRCODE = ${sql.lit(headMoved)}, DETAIL = coalesce(head, '');
          END IF;
        END IF;

        INSERT INTO ${s.headers} (id, flow_id, workflow_id, run_id, seq, parent_id, status, tenant_id, pending_input, created_at, updated_at, body)
          VALUES (p_id, p_flow_id, p_workflow_id, p_run_id, p_seq, p_parent_id, p_status, p_tenant_id, p_pending_input, p_created_at, p_updated_at, p_body);

        -- The head is the highest seq written, whatever the order in which writers commit.
        INSERT INTO ${s.heads} AS h (run_id, checkpoint_id, seq) VALUES (p_run_id, p_id, p_seq)
          ON CONFLICT (run_id) DO UPDATE SET checkpoint_id = excluded.checkpoint_id, seq = excluded.seq
          WHERE excluded.seq > h.seq;
      END
      $fn$`.execute(db);
  },
};
