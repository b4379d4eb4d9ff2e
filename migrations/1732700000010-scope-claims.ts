import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The class id of scope claims: the first key of the two-int advisory lock form, so claims
 * never collide with the one-bigint locks of migrations and compaction. 0x53594E43, "SYNC".
 */
export const SCOPE_CLAIM_CLASS = 1398361667;

/** Separates claimed scopes in the transaction-local setting `sync.claims`. */
const SEP = 'chr(31)';

/**
 * Per-scope horizons (docs/cursor.md, "The horizon"). A writer of the change log claims the
 * scopes of the rows it will write (`u:<user id>`, `s:<space id>`) with a transaction-level
 * shared advisory lock each, taken before the transaction has a transaction id: the service
 * does it in the message that carries BEGIN and the scope settings, a direct SQL writer by
 * calling `sync_claim_scopes(user, spaces)` first. A reader's horizon is then the smallest
 * xid among the claim holders of its own scopes, bounded by the next xid: transactions that
 * never write the log, and writers of other scopes, no longer hold it back.
 *
 * Unattributed writers: a transaction whose first change-log insert comes before it has an
 * xid and that claimed nothing claims the wildcard `*` (every reader includes it) in a
 * statement trigger, so it holds everyone, as before. A row whose scopes were not claimed
 * before the writer's xid was assigned is refused (SQLSTATE 55000): no reader could have
 * known that such a transaction might still add rows, so it is too late to hold anyone.
 */
export class ScopeClaims1732700000010 implements MigrationInterface {
  name = 'ScopeClaims1732700000010';

  async up(queryRunner: QueryRunner): Promise<void> {
    // md5 rather than hashtext: the realtime side computes the same keys in JavaScript.
    await queryRunner.query(`
      CREATE FUNCTION sync_scope_key(scope text) RETURNS int
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT ('x' || substr(md5(scope), 1, 8))::bit(32)::int $$`);
    await queryRunner.query(`
      CREATE FUNCTION sync_claim_keys(scopes text[]) RETURNS void
        LANGUAGE plpgsql AS $$
      DECLARE
        scope text;
        claims text := coalesce(nullif(current_setting('sync.claims', true), ''), ${SEP});
      BEGIN
        IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
          RAISE EXCEPTION 'sync scopes must be claimed before the transaction writes anything'
            USING ERRCODE = '55000',
                  HINT = 'call sync_claim_scopes(user_id, space_ids) right after BEGIN';
        END IF;
        FOREACH scope IN ARRAY scopes LOOP
          IF scope IS NULL OR strpos(scope, ${SEP}) > 0 THEN
            RAISE EXCEPTION 'invalid sync scope %', coalesce(quote_literal(scope), 'NULL')
              USING ERRCODE = '22023';
          END IF;
          IF strpos(claims, ${SEP} || scope || ${SEP}) = 0 THEN
            PERFORM pg_advisory_xact_lock_shared(${SCOPE_CLAIM_CLASS}, sync_scope_key(scope));
            claims := claims || scope || ${SEP};
          END IF;
        END LOOP;
        PERFORM set_config('sync.claims', claims, true);
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION sync_claim_scopes(user_id text, space_ids text[] DEFAULT '{}') RETURNS void
        LANGUAGE sql AS $$
        SELECT sync_claim_keys(ARRAY['u:' || user_id]
          || coalesce((SELECT array_agg('s:' || s) FROM unnest(space_ids) s), '{}'))
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION sync_scope_claimed(scope text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
        SELECT strpos(scope, ${SEP}) = 0
           AND strpos(coalesce(current_setting('sync.claims', true), ''), ${SEP} || scope || ${SEP}) > 0
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION sync_claim_unattributed() RETURNS trigger
        LANGUAGE plpgsql AS $$
      BEGIN
        IF coalesce(current_setting('sync.claims', true), '') = ''
           AND pg_current_xact_id_if_assigned() IS NULL THEN
          PERFORM sync_claim_keys(ARRAY['*']);
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION sync_refuse_unclaimed() RETURNS trigger
        LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'a change of user % (space %) written without claiming its scope first',
            quote_literal(NEW.user_id), coalesce(quote_literal(NEW.space_id), 'none')
          USING ERRCODE = '55000',
                HINT = 'call sync_claim_scopes(user_id, space_ids) right after BEGIN, before any write';
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER sync_changes_claim_unattributed BEFORE INSERT ON sync_changes
        FOR EACH STATEMENT EXECUTE FUNCTION sync_claim_unattributed()`);
    // The condition runs in the executor; the function is called only to refuse.
    await queryRunner.query(`
      CREATE TRIGGER sync_changes_refuse_unclaimed BEFORE INSERT ON sync_changes
        FOR EACH ROW WHEN (NOT (sync_scope_claimed('*')
          OR (sync_scope_claimed('u:' || NEW.user_id)
              AND (NEW.space_id IS NULL OR sync_scope_claimed('s:' || NEW.space_id)))))
        EXECUTE FUNCTION sync_refuse_unclaimed()`);
    // Holders of claims with their transaction ids. Session xids are read (pg_stat_activity,
    // from the proc array, set as the xid is assigned) before the claims (pg_locks): a writer
    // that had an xid by then and still holds its claim is matched by pid; one that was
    // prepared in between holds its claim as a prepared transaction, matched with the
    // transactionid lock of that same virtual transaction.
    await queryRunner.query(`
      CREATE FUNCTION sync_claim_holders(scope_keys int[] DEFAULT NULL)
        RETURNS TABLE (xid bigint, scope_key int, pid int)
        LANGUAGE plpgsql AS $$
      DECLARE
        pids int[];
        xids bigint[];
      BEGIN
        PERFORM pg_stat_clear_snapshot();
        SELECT coalesce(array_agg(a.pid), '{}'), coalesce(array_agg((a.backend_xid::text)::bigint), '{}')
          INTO pids, xids
          FROM pg_stat_activity a
         WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL;
        RETURN QUERY
          WITH locks AS MATERIALIZED (
                 SELECT l.locktype, l.pid, l.virtualtransaction, l.objid, l.transactionid,
                        l.classid, l.objsubid, l.database, l.mode
                   FROM pg_locks l
                  WHERE l.granted AND l.locktype IN ('advisory', 'transactionid')),
               claims AS (
                 SELECT c.pid, c.virtualtransaction,
                        (CASE WHEN c.objid::bigint >= 2147483648 THEN c.objid::bigint - 4294967296
                              ELSE c.objid::bigint END)::int AS scope_key
                   FROM locks c
                  WHERE c.locktype = 'advisory' AND c.objsubid = 2
                    AND c.classid = ${SCOPE_CLAIM_CLASS}::oid
                    AND c.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
                    AND (scope_keys IS NULL OR c.objid = ANY(
                          (SELECT array_agg(k::oid) FROM unnest(scope_keys) k)::oid[])))
          SELECT s.xid, c.scope_key, c.pid
            FROM claims c JOIN unnest(pids, xids) AS s(pid, xid) ON s.pid = c.pid
          UNION ALL
          SELECT min((t.transactionid::text)::bigint), c.scope_key, NULL::int
            FROM claims c
            JOIN locks t ON t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock'
                        AND t.virtualtransaction = c.virtualtransaction
           WHERE c.pid IS NULL
           GROUP BY c.virtualtransaction, c.scope_key;
      END $$`);
    // The reader's scopes are the RLS settings of its transaction: every row the policies
    // let it see is of one of them. A scope nobody holds is probed with a try-lock that is
    // released at once (a claimed scope refuses it); only contested scopes read pg_locks.
    await queryRunner.query(`
      CREATE FUNCTION sync_scope_horizon() RETURNS bigint
        LANGUAGE plpgsql AS $$
      DECLARE
        next_xid bigint := (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint;
        keys int[];
        k int;
        contested boolean := false;
      BEGIN
        SELECT array_agg(sync_scope_key(s)) INTO keys
          FROM unnest(ARRAY['*', 'u:' || current_setting('app.current_user_id')]
                 || coalesce((SELECT array_agg('s:' || sp) FROM unnest(string_to_array(
                      nullif(current_setting('app.current_user_space_ids', true), ''), ',')) sp),
                    '{}')) s;
        BEGIN
          FOREACH k IN ARRAY keys LOOP
            IF pg_try_advisory_lock(${SCOPE_CLAIM_CLASS}, k) THEN
              PERFORM pg_advisory_unlock(${SCOPE_CLAIM_CLASS}, k);
            ELSE
              contested := true;
              EXIT;
            END IF;
          END LOOP;
        EXCEPTION WHEN OTHERS OR query_canceled THEN
          -- A session-level lock outlives the transaction: never leave one on a pooled connection.
          PERFORM pg_advisory_unlock(${SCOPE_CLAIM_CLASS}, k);
          RAISE;
        END;
        IF NOT contested THEN
          RETURN next_xid;
        END IF;
        RETURN least(next_xid, (SELECT min(h.xid) FROM sync_claim_holders(keys) h));
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER sync_changes_refuse_unclaimed ON sync_changes`);
    await queryRunner.query(`DROP TRIGGER sync_changes_claim_unattributed ON sync_changes`);
    for (const fn of [
      'sync_scope_horizon()',
      'sync_claim_holders(int[])',
      'sync_refuse_unclaimed()',
      'sync_claim_unattributed()',
      'sync_scope_claimed(text)',
      'sync_claim_scopes(text, text[])',
      'sync_claim_keys(text[])',
      'sync_scope_key(text)',
    ]) {
      await queryRunner.query(`DROP FUNCTION ${fn}`);
    }
  }
}
