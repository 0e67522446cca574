/* src/store/postgres.c: the PostgreSQL backend of the store (DESIGN.md
 * section 4, issue 6).
 *
 * One registry is one PostgreSQL database (it must exist: `createdb`, or a
 * DBA). At open we check that the database is an avrr registry (the
 * avrr_meta table says application = 'avrr'), or empty when we were asked to
 * create one, refuse one made by a newer avrr (schema_migrations above
 * AVRR_SCHEMA_VERSION) and apply the pending numbered migrations, each in
 * its own transaction under an advisory lock so that two processes opening
 * the same database do not both migrate it. The migrations are the same
 * numbered steps as sqlite.c's, in PostgreSQL's dialect: BIGSERIAL ids,
 * BIGINT times, BYTEA hashes, DOUBLE PRECISION probabilities.
 *
 * Every statement of the operations is prepared once per connection
 * (PQprepare on first use, named by its index) and run with PQexecPrepared
 * and text parameters (BYTEA in binary); no SQL is ever built from input.
 * Only the migrations, which are constant DDL scripts, go through PQexec.
 * SQLSTATEs become avrr_err in one place, pg_error().
 *
 * Round trips: statements whose result is only "it worked" (BEGIN,
 * SAVEPOINT, RELEASE, the audit lock and insert, a check's hits) are sent
 * in libpq's pipeline mode and read with the next statement whose result
 * is needed; see "pipelining". The hits of a check are read for it as a
 * batch (person_facts_many). A check costs about four round trips plus two
 * per link it opens, where it cost about sixty.
 *
 * Transactions: PostgreSQL aborts a whole transaction when one statement
 * fails, where SQLite undoes only the statement. So that a refused write
 * (a duplicate, a missing reference) leaves the caller's transaction usable
 * as on SQLite, every write inside a caller's transaction runs inside a
 * savepoint; a multi-statement write outside one runs in its own
 * transaction.
 *
 * Text columns are compared and sorted with COLLATE "C" where order matters,
 * so that results do not depend on the database's locale (SQLite compares
 * bytes).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "store/store.h"

/* Called by avrr_store_open() (store.c) for postgresql:// and postgres://
 * URIs. */

/* The most rows one list call returns; callers page with `after`. As in
 * sqlite.c. */
#define LIST_LIMIT_MAX AVRR_STORE_LIST_MAX

/* identity_scan and audit_scan read this many rows per query, then call
 * back with no query open. Larger than SQLite's 256 because every batch is
 * a round trip to the server; 1,000 identities are a few hundred KB. */
#define SCAN_BATCH 1000

/* The most parameters of one statement (IDENTITY_INSERT has 14). */
#define MAX_PARAMS 16

/* Advisory lock keys ('avrr' and a number): the schema upgrade. */
#define LOCK_MIGRATE "7815326301"

/* ---- schema ---------------------------------------------------------------- */

/* Migration N (1-based) takes a registry from schema version N-1 to N, as in
 * sqlite.c. Never edit a migration once released: add one. Its number is
 * recorded in schema_migrations in the same transaction. */
static const char *const migrations[] = {
    /* 1: the initial schema. */
    "CREATE TABLE schema_migrations (\n"
    "  version INTEGER PRIMARY KEY,\n"
    "  applied_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE TABLE avrr_meta (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ");\n"
    "INSERT INTO avrr_meta (key, value) VALUES ('application', 'avrr'),\n"
    "  ('created_at', CAST(CAST(extract(epoch FROM now()) AS BIGINT) AS TEXT));\n"
    "CREATE TABLE tenants (\n"
    "  code TEXT PRIMARY KEY CHECK (length(code) BETWEEN 2 AND 16),\n"
    "  name TEXT NOT NULL,\n"
    "  created_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE TABLE api_keys (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  tenant TEXT REFERENCES tenants(code),\n"
    "  role TEXT NOT NULL CHECK (role IN ('caseworker', 'provider',\n"
    "    'statistician', 'dpo', 'admin')),\n"
    "  hash BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32),\n"
    "  label TEXT NOT NULL DEFAULT '',\n"
    "  created_at BIGINT NOT NULL,\n"
    "  revoked_at BIGINT\n"
    ");\n"
    "CREATE INDEX api_keys_tenant ON api_keys(tenant, id);\n"
    "CREATE TABLE persons (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  restricted SMALLINT NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1)),\n"
    "  created_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE INDEX persons_tenant ON persons(tenant, id);\n"
    "CREATE TABLE identities (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  person_id BIGINT NOT NULL REFERENCES persons(id) ON DELETE CASCADE,\n"
    "  given_names TEXT,\n"
    "  surname TEXT,\n"
    "  full_name TEXT,\n"
    "  sex TEXT NOT NULL DEFAULT 'u' CHECK (sex IN ('u', 'f', 'm', 'x')),\n"
    "  birth_date TEXT NOT NULL DEFAULT '',\n"
    "  birth_precision SMALLINT NOT NULL DEFAULT 0\n"
    "    CHECK (birth_precision BETWEEN 0 AND 3),\n"
    "  birth_placeholder SMALLINT NOT NULL DEFAULT 0\n"
    "    CHECK (birth_placeholder IN (0, 1)),\n"
    "  nationality TEXT NOT NULL DEFAULT ''\n"
    "    CHECK (length(nationality) IN (0, 3)),\n"
    "  birth_place TEXT,\n"
    "  address TEXT,\n"
    "  national_ref TEXT,\n"
    "  eurodac_ref TEXT,\n"
    "  created_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE INDEX identities_person ON identities(person_id, id);\n"
    "CREATE TABLE documents (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  identity_id BIGINT NOT NULL\n"
    "    REFERENCES identities(id) ON DELETE CASCADE,\n"
    "  type TEXT,\n"
    "  number TEXT NOT NULL CHECK (length(number) > 0),\n"
    "  country TEXT NOT NULL DEFAULT '' CHECK (length(country) IN (0, 3))\n"
    ");\n"
    "CREATE INDEX documents_identity ON documents(identity_id, id);\n"
    "CREATE TABLE cases (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  person_id BIGINT NOT NULL REFERENCES persons(id),\n"
    "  destination_country TEXT NOT NULL DEFAULT ''\n"
    "    CHECK (length(destination_country) IN (0, 3)),\n"
    "  return_type TEXT NOT NULL\n"
    "    CHECK (return_type IN ('voluntary', 'forced')),\n"
    "  programme TEXT,\n"
    "  status TEXT NOT NULL CHECK (status IN ('counselled', 'applied',\n"
    "    'approved', 'departed', 'reintegrating', 'completed', 'withdrawn',\n"
    "    'absconded')),\n"
    "  opened_on TEXT NOT NULL DEFAULT '',\n"
    "  closed_on TEXT NOT NULL DEFAULT '',\n"
    "  created_at BIGINT NOT NULL,\n"
    "  updated_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE INDEX cases_tenant ON cases(tenant, id);\n"
    "CREATE INDEX cases_person ON cases(person_id, id);\n"
    "CREATE TABLE assistance (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  case_id BIGINT NOT NULL REFERENCES cases(id),\n"
    "  kind TEXT NOT NULL CHECK (kind IN ('counselling', 'travel_document',\n"
    "    'ticket', 'cash_allowance', 'post_arrival', 'reintegration_in_kind',\n"
    "    'reintegration_business', 'reintegration_housing',\n"
    "    'reintegration_education', 'reintegration_medical',\n"
    "    'reintegration_psychosocial')),\n"
    "  amount_cents BIGINT NOT NULL DEFAULT 0\n"
    "    CHECK (amount_cents BETWEEN 0 AND 100000000),\n"
    "  cash SMALLINT NOT NULL DEFAULT 0 CHECK (cash IN (0, 1)),\n"
    "  provider TEXT,\n"
    "  funding TEXT NOT NULL CHECK (funding IN ('amif', 'ndici', 'ipa3',\n"
    "    'national', 'frontex')),\n"
    "  granted_on TEXT NOT NULL DEFAULT '',\n"
    "  delivered_on TEXT NOT NULL DEFAULT '',\n"
    "  status TEXT NOT NULL\n"
    "    CHECK (status IN ('granted', 'delivered', 'cancelled')),\n"
    "  created_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE INDEX assistance_case ON assistance(case_id, id);\n"
    "CREATE INDEX assistance_tenant ON assistance(tenant, id);\n",

    /* 2: tenant settings and consultation (see sqlite.c for why persons
     * carry no foreign keys here). */
    "ALTER TABLE tenants ADD COLUMN duplicate_policy TEXT NOT NULL\n"
    "  DEFAULT 'warn' CHECK (duplicate_policy IN ('warn', 'block'));\n"
    "CREATE TABLE checks (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  key_id BIGINT,\n"
    "  purpose TEXT NOT NULL CHECK (purpose IN ('assistance_decision',\n"
    "    'return_counselling', 'identity_verification', 'case_review')),\n"
    "  person_id BIGINT,\n"
    "  request_json TEXT,\n"
    "  response_json TEXT,\n"
    "  created_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE INDEX checks_tenant ON checks(tenant, id);\n"
    "CREATE TABLE check_hits (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  check_id BIGINT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,\n"
    "  person_id BIGINT NOT NULL,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  person_ref TEXT NOT NULL CHECK (length(person_ref) BETWEEN 1 AND 32),\n"
    "  probability DOUBLE PRECISION NOT NULL\n"
    "    CHECK (probability BETWEEN 0 AND 1),\n"
    "  band TEXT NOT NULL CHECK (band IN ('strong', 'possible'))\n"
    ");\n"
    "CREATE INDEX check_hits_check ON check_hits(check_id, id);\n"
    "CREATE TABLE links (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  person_a BIGINT,\n"
    "  tenant_a TEXT NOT NULL REFERENCES tenants(code),\n"
    "  person_b BIGINT NOT NULL,\n"
    "  tenant_b TEXT NOT NULL REFERENCES tenants(code),\n"
    "  check_id BIGINT,\n"
    "  source TEXT NOT NULL\n"
    "    CHECK (source IN ('check', 'registration', 'assistance')),\n"
    "  status TEXT NOT NULL DEFAULT 'yellow'\n"
    "    CHECK (status IN ('yellow', 'white', 'green', 'red')),\n"
    "  probability DOUBLE PRECISION NOT NULL\n"
    "    CHECK (probability BETWEEN 0 AND 1),\n"
    "  reason TEXT,\n"
    "  resolved_by TEXT REFERENCES tenants(code),\n"
    "  resolved_key_id BIGINT,\n"
    "  resolved_at BIGINT,\n"
    "  created_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE INDEX links_tenant_a ON links(tenant_a, status, id);\n"
    "CREATE INDEX links_tenant_b ON links(tenant_b, status, id);\n"
    "CREATE INDEX links_person_a ON links(person_a);\n"
    "CREATE INDEX links_person_b ON links(person_b);\n"
    "CREATE TABLE disclosures (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  check_id BIGINT NOT NULL REFERENCES checks(id),\n"
    "  requester TEXT NOT NULL REFERENCES tenants(code),\n"
    "  requester_key_id BIGINT,\n"
    "  owner TEXT NOT NULL REFERENCES tenants(code),\n"
    "  person_id BIGINT NOT NULL,\n"
    "  person_ref TEXT NOT NULL CHECK (length(person_ref) BETWEEN 1 AND 32),\n"
    "  reason TEXT,\n"
    "  status TEXT NOT NULL DEFAULT 'pending'\n"
    "    CHECK (status IN ('pending', 'approved', 'refused')),\n"
    "  decision_reason TEXT,\n"
    "  decided_key_id BIGINT,\n"
    "  decided_at BIGINT,\n"
    "  created_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE INDEX disclosures_requester\n"
    "  ON disclosures(requester, status, id);\n"
    "CREATE INDEX disclosures_owner ON disclosures(owner, status, id);\n",

    /* 3: privacy (see sqlite.c). The audit chain's seq is given by
     * audit_append, not generated. */
    "ALTER TABLE persons ADD COLUMN erased_at BIGINT;\n"
    "ALTER TABLE tenants ADD COLUMN retention_days INTEGER NOT NULL\n"
    "  DEFAULT 730 CHECK (retention_days >= 0);\n"
    "ALTER TABLE tenants ADD COLUMN audit_retention_days INTEGER NOT NULL\n"
    "  DEFAULT 1095 CHECK (audit_retention_days >= 0);\n"
    "CREATE TABLE audit_events (\n"
    "  seq BIGINT PRIMARY KEY,\n"
    "  ts_ms BIGINT NOT NULL,\n"
    "  key_id BIGINT NOT NULL DEFAULT 0,\n"
    "  tenant TEXT NOT NULL DEFAULT '',\n"
    "  role TEXT NOT NULL DEFAULT '',\n"
    "  action TEXT NOT NULL CHECK (length(action) > 0),\n"
    "  target_type TEXT NOT NULL DEFAULT '',\n"
    "  target_id BIGINT NOT NULL DEFAULT 0,\n"
    "  purpose TEXT NOT NULL DEFAULT '',\n"
    "  request_id TEXT NOT NULL DEFAULT '',\n"
    "  outcome TEXT NOT NULL DEFAULT '',\n"
    "  prev_hash BYTEA NOT NULL CHECK (length(prev_hash) = 32),\n"
    "  hash BYTEA NOT NULL CHECK (length(hash) = 32)\n"
    ");\n"
    "CREATE INDEX audit_events_tenant ON audit_events(tenant, seq);\n"
    "CREATE TABLE audit_checkpoints (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  seq BIGINT NOT NULL CHECK (seq >= 0),\n"
    "  hash BYTEA NOT NULL CHECK (length(hash) = 32),\n"
    "  ts_ms BIGINT NOT NULL,\n"
    "  public_key BYTEA NOT NULL CHECK (length(public_key) = 32),\n"
    "  signature BYTEA NOT NULL CHECK (length(signature) = 64)\n"
    ");\n"
    "CREATE INDEX audit_checkpoints_seq ON audit_checkpoints(seq, id);\n"
    "CREATE TABLE identity_history (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  identity_id BIGINT NOT NULL,\n"
    "  person_id BIGINT NOT NULL,\n"
    "  changed_at BIGINT NOT NULL,\n"
    "  key_id BIGINT,\n"
    "  old_json TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX identity_history_person ON identity_history(person_id, id);\n",

    /* 4: the return process. Family counts on the case for the caps of a
     * state's rules; counselling, referrals to partner tenants, the
     * reintegration plan (one per case, amounts as canonical JSON) and
     * follow-up visits with sustainability scores. `tenant` is always the
     * case's owner, `recorded_by` who wrote the row. */
    "ALTER TABLE cases ADD COLUMN adults INTEGER NOT NULL DEFAULT 1\n"
    "  CHECK (adults BETWEEN 0 AND 30);\n"
    "ALTER TABLE cases ADD COLUMN minors INTEGER NOT NULL DEFAULT 0\n"
    "  CHECK (minors BETWEEN 0 AND 30);\n"
    "CREATE TABLE counselling (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  case_id BIGINT NOT NULL REFERENCES cases(id),\n"
    "  recorded_by TEXT NOT NULL REFERENCES tenants(code),\n"
    "  held_on TEXT NOT NULL DEFAULT '',\n"
    "  counsellor TEXT NOT NULL,\n"
    "  outcome TEXT,\n"
    "  created_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE INDEX counselling_case ON counselling(case_id, id);\n"
    "CREATE TABLE referrals (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  case_id BIGINT NOT NULL REFERENCES cases(id),\n"
    "  partner TEXT NOT NULL REFERENCES tenants(code),\n"
    "  status TEXT NOT NULL DEFAULT 'pending'\n"
    "    CHECK (status IN ('pending', 'accepted', 'declined')),\n"
    "  reason TEXT,\n"
    "  decided_key_id BIGINT,\n"
    "  decided_at BIGINT,\n"
    "  created_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE INDEX referrals_tenant ON referrals(tenant, id);\n"
    "CREATE INDEX referrals_partner ON referrals(partner, status, id);\n"
    "CREATE INDEX referrals_case ON referrals(case_id, partner);\n"
    "CREATE TABLE plans (\n"
    "  case_id BIGINT PRIMARY KEY REFERENCES cases(id),\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  recorded_by TEXT NOT NULL REFERENCES tenants(code),\n"
    "  components TEXT,\n"
    "  amounts TEXT NOT NULL DEFAULT '[]',\n"
    "  updated_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE TABLE follow_ups (\n"
    "  id BIGSERIAL PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  case_id BIGINT NOT NULL REFERENCES cases(id),\n"
    "  recorded_by TEXT NOT NULL REFERENCES tenants(code),\n"
    "  visited_on TEXT NOT NULL DEFAULT '',\n"
    "  economic DOUBLE PRECISION NOT NULL CHECK (economic BETWEEN 0 AND 1),\n"
    "  social DOUBLE PRECISION NOT NULL CHECK (social BETWEEN 0 AND 1),\n"
    "  psychosocial DOUBLE PRECISION NOT NULL CHECK (psychosocial BETWEEN 0 AND 1),\n"
    "  note TEXT,\n"
    "  created_at BIGINT NOT NULL\n"
    ");\n"
    "CREATE INDEX follow_ups_case ON follow_ups(case_id, id);\n",

    /* 5: a person's red links counted on the person row, kept by triggers
     * on links, so that the red-link flag of a check's hits is a column of
     * the rows the check reads anyway: its cost does not depend on the size
     * of links nor on a plan (a cached generic plan made while links was
     * small scanned the whole table for every hit). The count is per link:
     * a link whose two sides are one person counts once. Partial indexes
     * on the red links for the red-link statistics. */
    "ALTER TABLE persons ADD COLUMN red_links INTEGER NOT NULL DEFAULT 0\n"
    "  CHECK (red_links >= 0);\n"
    "CREATE INDEX links_red_a ON links(person_a) WHERE status = 'red';\n"
    "CREATE INDEX links_red_b ON links(person_b) WHERE status = 'red';\n"
    "UPDATE persons SET red_links = (SELECT count(*) FROM links\n"
    "  WHERE status = 'red' AND (person_a = persons.id\n"
    "  OR person_b = persons.id))\n"
    "  WHERE id IN (SELECT person_a FROM links WHERE status = 'red'\n"
    "  UNION SELECT person_b FROM links WHERE status = 'red');\n"
    "CREATE FUNCTION avrr_links_red() RETURNS trigger\n"
    "LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  IF TG_OP <> 'INSERT' THEN\n"
    "    IF OLD.status = 'red' THEN\n"
    "      UPDATE persons SET red_links = red_links - 1\n"
    "        WHERE id IN (OLD.person_a, OLD.person_b);\n"
    "    END IF;\n"
    "  END IF;\n"
    "  IF TG_OP <> 'DELETE' THEN\n"
    "    IF NEW.status = 'red' THEN\n"
    "      UPDATE persons SET red_links = red_links + 1\n"
    "        WHERE id IN (NEW.person_a, NEW.person_b);\n"
    "    END IF;\n"
    "  END IF;\n"
    "  RETURN NULL;\n"
    "END $$;\n"
    "CREATE TRIGGER links_red_insert AFTER INSERT ON links FOR EACH ROW\n"
    "  WHEN (NEW.status = 'red') EXECUTE FUNCTION avrr_links_red();\n"
    "CREATE TRIGGER links_red_update\n"
    "  AFTER UPDATE OF status, person_a, person_b ON links FOR EACH ROW\n"
    "  WHEN ((OLD.status = 'red' OR NEW.status = 'red') AND\n"
    "    (OLD.status IS DISTINCT FROM NEW.status\n"
    "    OR OLD.person_a IS DISTINCT FROM NEW.person_a\n"
    "    OR OLD.person_b IS DISTINCT FROM NEW.person_b))\n"
    "  EXECUTE FUNCTION avrr_links_red();\n"
    "CREATE TRIGGER links_red_delete AFTER DELETE ON links FOR EACH ROW\n"
    "  WHEN (OLD.status = 'red') EXECUTE FUNCTION avrr_links_red();\n",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(sizeof migrations / sizeof migrations[0] == AVRR_SCHEMA_VERSION,
               "one migration per schema version");

/* ---- statements ------------------------------------------------------------ */

#define IDENTITY_COLS                                                         \
    "i.id, i.person_id, i.given_names, i.surname, i.full_name, i.sex, "      \
    "i.birth_date, i.birth_precision, i.birth_placeholder, i.nationality, "  \
    "i.birth_place, i.address, i.national_ref, i.eurodac_ref, i.created_at"
#define CASE_COLS                                                             \
    "id, person_id, tenant, destination_country, return_type, programme, "   \
    "status, opened_on, closed_on, created_at, updated_at, adults, minors"
#define REFERRAL_COLS                                                         \
    "id, case_id, tenant, partner, status, reason, decided_key_id, "         \
    "decided_at, created_at"
#define ASSIST_COLS                                                           \
    "a.id, a.case_id, a.tenant, a.kind, a.amount_cents, a.cash, "            \
    "a.provider, a.funding, a.granted_on, a.delivered_on, a.status, "        \
    "a.created_at"
#define CHECK_COLS                                                            \
    "id, tenant, key_id, purpose, person_id, request_json, response_json, "  \
    "created_at"
#define LINK_COLS                                                             \
    "id, person_a, tenant_a, person_b, tenant_b, check_id, source, status, " \
    "probability, reason, resolved_by, resolved_key_id, resolved_at, "       \
    "created_at"
#define DISCLOSURE_COLS                                                       \
    "id, check_id, requester, requester_key_id, owner, person_id, "          \
    "person_ref, reason, status, decision_reason, decided_key_id, "          \
    "decided_at, created_at"
#define KEY_COLS "id, tenant, role, label, revoked_at, created_at"
#define TENANT_COLS                                                           \
    "code, name, duplicate_policy, created_at, retention_days, "             \
    "audit_retention_days"
#define PERSON_COLS "id, tenant, restricted, created_at, erased_at"
#define AUDIT_COLS                                                            \
    "seq, ts_ms, key_id, tenant, role, action, target_type, target_id, "     \
    "purpose, request_id, outcome, prev_hash, hash"

/* X(name, sql): every statement this backend runs, prepared on first use
 * as "avrr_<index>". Parameters whose type PostgreSQL cannot infer from
 * their context carry a cast. */
#define STMTS(X)                                                              \
    X(BEGIN, "BEGIN")                                                         \
    X(COMMIT, "COMMIT")                                                       \
    X(ROLLBACK, "ROLLBACK")                                                   \
    X(SAVEPOINT, "SAVEPOINT avrr_write")                                      \
    X(RELEASE, "RELEASE SAVEPOINT avrr_write")                                \
    X(ROLLBACK_TO, "ROLLBACK TO SAVEPOINT avrr_write")                        \
    /* As SQLite's busy timeout (5 s): a writer waits that long for a lock. */\
    X(LOCK_TIMEOUT, "SET lock_timeout = 5000")                                \
    X(QUIET, "SET client_min_messages = warning")                             \
    X(LOCK_MIGRATE, "SELECT pg_advisory_xact_lock(" LOCK_MIGRATE ")")         \
    X(TABLE_COUNT, "SELECT count(*) FROM pg_catalog.pg_tables "               \
                   "WHERE schemaname = current_schema()")                     \
    X(HAS_TABLE, "SELECT count(*) FROM pg_catalog.pg_tables "                 \
                 "WHERE schemaname = current_schema() AND tablename = $1")    \
    X(META_APP, "SELECT count(*) FROM avrr_meta "                             \
                "WHERE key = 'application' AND value = 'avrr'")               \
    X(SCHEMA_VERSION,                                                         \
      "SELECT coalesce(max(version), 0) FROM schema_migrations")              \
    X(MIGRATION_DONE, "INSERT INTO schema_migrations (version, applied_at) "  \
                      "VALUES ($1, $2)")                                      \
    X(TENANT_INSERT, "INSERT INTO tenants "                                   \
                     "(code, name, duplicate_policy, created_at, "            \
                     "retention_days, audit_retention_days) "                 \
                     "VALUES ($1, $2, $3, $4, $5, $6)")                       \
    X(TENANT_GET, "SELECT " TENANT_COLS " FROM tenants WHERE code = $1")      \
    X(TENANT_LIST, "SELECT " TENANT_COLS " FROM tenants "                     \
                   "ORDER BY code COLLATE \"C\"")                             \
    X(TENANT_UPDATE, "UPDATE tenants SET name = $2, duplicate_policy = $3, "  \
                     "retention_days = $4, audit_retention_days = $5 "        \
                     "WHERE code = $1")                                       \
    X(META_GET, "SELECT value FROM avrr_meta WHERE key = $1")                 \
    X(META_SET, "INSERT INTO avrr_meta (key, value) VALUES ($1, $2) "         \
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value")     \
    X(KEY_INSERT, "INSERT INTO api_keys "                                     \
                  "(tenant, role, hash, label, created_at) "                  \
                  "VALUES ($1, $2, $3, $4, $5) RETURNING id")                 \
    X(KEY_FIND, "SELECT " KEY_COLS " FROM api_keys "                          \
                "WHERE hash = $1 AND revoked_at IS NULL")                     \
    X(KEY_REVOKE, "UPDATE api_keys SET revoked_at = "                         \
                  "coalesce(revoked_at, $2) WHERE id = $1")                   \
    X(KEY_LIST, "SELECT " KEY_COLS " FROM api_keys "                          \
                "WHERE $1::text IS NULL OR tenant = $1::text ORDER BY id")    \
    X(PERSON_INSERT, "INSERT INTO persons (tenant, restricted, created_at) "  \
                     "VALUES ($1, $2, $3) RETURNING id")                      \
    /* Ids for a bulk insert (person_insert_many), taken ahead of COPY. */   \
    /* The sequence is named once (OFFSET 0 keeps the subquery apart):   \
     * pg_get_serial_sequence() in the select list ran once per id and    \
     * took a seventh of the server's time of an import. */               \
    X(SEQ_PERSONS, "SELECT nextval(q.seq) FROM (SELECT CAST("               \
                   "pg_get_serial_sequence('persons', 'id') AS regclass) "  \
                   "AS seq OFFSET 0) q, generate_series(1, $1::int)")       \
    X(SEQ_IDENTITIES, "SELECT nextval(q.seq) FROM (SELECT CAST("            \
                      "pg_get_serial_sequence('identities', 'id') AS "      \
                      "regclass) AS seq OFFSET 0) q, "                      \
                      "generate_series(1, $1::int)")                        \
    /* Ids for a bulk load (bulk_deferred): a block of $1 ids in one     \
     * step, the last returned. Only while the load's table locks keep     \
     * every other writer (INSERT, and other imports' SEQ_* behind          \
     * BULK_ROW_LOCK) from the sequence: nextval and setval are two steps. */\
    X(SEQ_BLOCK_PERSONS, "SELECT setval(q.seq, nextval(q.seq) + $1 - 1) "    \
                         "FROM (SELECT CAST(pg_get_serial_sequence("         \
                         "'persons', 'id') AS regclass) AS seq OFFSET 0) q") \
    X(SEQ_BLOCK_IDENTITIES, "SELECT setval(q.seq, nextval(q.seq) + $1 - 1) " \
                            "FROM (SELECT CAST(pg_get_serial_sequence("      \
                            "'identities', 'id') AS regclass) AS seq "       \
                            "OFFSET 0) q")                                   \
    X(SEQ_BLOCK_DOCUMENTS, "SELECT setval(q.seq, nextval(q.seq) + $1 - 1) "  \
                           "FROM (SELECT CAST(pg_get_serial_sequence("       \
                           "'documents', 'id') AS regclass) AS seq "         \
                           "OFFSET 0) q")                                    \
    /* Before SEQ_* outside a bulk load: waits for a bulk load's ids to be  \
     * taken (its ACCESS EXCLUSIVE locks), as an INSERT would. */           \
    X(BULK_ROW_LOCK, "LOCK TABLE persons, identities, documents "            \
                     "IN ROW EXCLUSIVE MODE")                                \
    X(PERSON_OWNED, "SELECT count(*) FROM persons "                           \
                    "WHERE id = $1 AND tenant = $2")                          \
    X(PERSON_GET, "SELECT " PERSON_COLS " FROM persons "                      \
                  "WHERE id = $1 AND tenant = $2")                            \
    X(PERSON_GET_ANY, "SELECT " PERSON_COLS " FROM persons WHERE id = $1")    \
    X(PERSON_LIST, "SELECT " PERSON_COLS " FROM persons "                     \
                   "WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3")      \
    X(IDENTITY_INSERT,                                                        \
      "INSERT INTO identities (person_id, given_names, surname, full_name, "  \
      "sex, birth_date, birth_precision, birth_placeholder, nationality, "    \
      "birth_place, address, national_ref, eurodac_ref, created_at) "         \
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) " \
      "RETURNING id")                                                         \
    X(IDENTITIES_OF, "SELECT " IDENTITY_COLS " FROM identities i "            \
                     "WHERE i.person_id = $1 ORDER BY i.id")                  \
    X(IDENTITY_SCAN, "SELECT " IDENTITY_COLS ", p.tenant FROM identities i "  \
                     "JOIN persons p ON p.id = i.person_id "                  \
                     "WHERE i.id > $1 ORDER BY i.id LIMIT $2")                \
    X(DOCUMENT_INSERT, "INSERT INTO documents "                               \
                       "(identity_id, type, number, country) "                \
                       "VALUES ($1, $2, $3, $4)")                             \
    /* The documents of all identities of one person in one query. */       \
    X(DOCUMENTS_OF_PERSON,                                                    \
      "SELECT d.identity_id, d.type, d.number, d.country FROM documents d "   \
      "JOIN identities i ON i.id = d.identity_id WHERE i.person_id = $1 "     \
      "ORDER BY d.identity_id, d.id")                                         \
    /* The documents of the identities of one scan batch: ids in ($1, $2]. */\
    X(DOCUMENTS_RANGE,                                                        \
      "SELECT identity_id, type, number, country FROM documents "             \
      "WHERE identity_id > $1 AND identity_id <= $2 "                         \
      "ORDER BY identity_id, id")                                             \
    X(CASE_INSERT,                                                            \
      "INSERT INTO cases (tenant, person_id, destination_country, "           \
      "return_type, programme, status, opened_on, closed_on, created_at, "    \
      "updated_at, adults, minors) "                                         \
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11) "          \
      "RETURNING id")                                                         \
    X(CASE_OWNED, "SELECT count(*) FROM cases WHERE id = $1 AND tenant = $2") \
    X(CASE_GET, "SELECT " CASE_COLS " FROM cases "                            \
                "WHERE id = $1 AND tenant = $2")                              \
    X(CASE_LIST, "SELECT " CASE_COLS " FROM cases "                           \
                 "WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3")        \
    X(CASE_LIST_PERSON, "SELECT " CASE_COLS " FROM cases "                    \
                        "WHERE tenant = $1 AND person_id = $4 AND id > $2 "   \
                        "ORDER BY id LIMIT $3")                               \
    X(CASE_UPDATE, "UPDATE cases SET status = $3, closed_on = $4, "           \
                   "updated_at = $5 WHERE id = $1 AND tenant = $2")           \
    X(ASSIST_INSERT,                                                          \
      "INSERT INTO assistance (tenant, case_id, kind, amount_cents, cash, "   \
      "provider, funding, granted_on, delivered_on, status, created_at) "     \
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id")   \
    X(ASSIST_LIST, "SELECT " ASSIST_COLS " FROM assistance a "                \
                   "WHERE a.case_id = $1 ORDER BY a.id")                      \
    X(ASSIST_OF_PERSON, "SELECT " ASSIST_COLS ", c.programme "                \
                        "FROM assistance a JOIN cases c ON c.id = a.case_id " \
                        "WHERE c.person_id = $1 ORDER BY a.id")               \
    X(CHECK_INSERT,                                                           \
      "INSERT INTO checks (tenant, key_id, purpose, person_id, request_json, " \
      "response_json, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "       \
      "RETURNING id")                                                         \
    /* The check is the one this connection inserted last (CHECK_INSERT  \
     * just before, pipelined: its id is not back yet). */                 \
    /* All the hits of a check in one statement, from arrays, in their     \
     * order (ids ascending as the hits). */                                  \
    X(HITS_INSERT,                                                            \
      "INSERT INTO check_hits (check_id, person_id, tenant, person_ref, "     \
      "probability, band) SELECT currval('checks_id_seq'), h.p, h.t, h.r, "  \
      "h.pr, h.b FROM unnest(CAST($1 AS BIGINT[]), CAST($2 AS TEXT[]), "      \
      "CAST($3 AS TEXT[]), CAST($4 AS DOUBLE PRECISION[]), "                  \
      "CAST($5 AS TEXT[])) WITH ORDINALITY AS h(p, t, r, pr, b, n) "          \
      "ORDER BY h.n")                                                         \
    X(CHECK_OWNED, "SELECT count(*) FROM checks "                             \
                   "WHERE id = $1 AND tenant = $2")                           \
    X(CHECK_GET, "SELECT " CHECK_COLS " FROM checks "                         \
                 "WHERE id = $1 AND tenant = $2")                             \
    X(HITS_OF, "SELECT person_id, tenant, person_ref, probability, band "     \
               "FROM check_hits WHERE check_id = $1 ORDER BY id")             \
    /* Inserts only when each side is a person of its tenant (person_a may \
     * be NULL: a check of nobody in particular): no row back when not,   \
     * and the caller asks which side it was. One round trip per link.   */\
    X(LINK_INSERT,                                                            \
      "INSERT INTO links (person_a, tenant_a, person_b, tenant_b, check_id, " \
      "source, status, probability, reason, created_at) "                     \
      "SELECT CAST($1 AS BIGINT), CAST($2 AS TEXT), CAST($3 AS BIGINT), "     \
      "CAST($4 AS TEXT), CAST($5 AS BIGINT), CAST($6 AS TEXT), "              \
      "CAST($7 AS TEXT), CAST($8 AS DOUBLE PRECISION), CAST($9 AS TEXT), "    \
      "CAST($10 AS BIGINT) "                                                  \
      "WHERE (CAST($1 AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM persons "   \
      "WHERE id = $1 AND tenant = $2)) AND EXISTS (SELECT 1 FROM persons "    \
      "WHERE id = $3 AND tenant = $4) RETURNING id")                          \
    /* LINK_INSERT for a check sent just before, pipelined (its id is not  \
     * back yet: currval, as HITS_INSERT); $5 is unused and NULL. */          \
    X(LINK_INSERT_CHECK,                                                      \
      "INSERT INTO links (person_a, tenant_a, person_b, tenant_b, check_id, " \
      "source, status, probability, reason, created_at) "                     \
      "SELECT CAST($1 AS BIGINT), CAST($2 AS TEXT), CAST($3 AS BIGINT), "     \
      "CAST($4 AS TEXT), coalesce(CAST($5 AS BIGINT), "                       \
      "currval('checks_id_seq')), CAST($6 AS TEXT), "                         \
      "CAST($7 AS TEXT), CAST($8 AS DOUBLE PRECISION), CAST($9 AS TEXT), "    \
      "CAST($10 AS BIGINT) "                                                  \
      "WHERE (CAST($1 AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM persons "   \
      "WHERE id = $1 AND tenant = $2)) AND EXISTS (SELECT 1 FROM persons "    \
      "WHERE id = $3 AND tenant = $4) RETURNING id")                          \
    X(LINK_GET, "SELECT " LINK_COLS " FROM links "                            \
                "WHERE id = $1 AND (tenant_a = $2 OR tenant_b = $2)")         \
    X(LINK_LIST, "SELECT " LINK_COLS " FROM links "                           \
                 "WHERE (tenant_a = $1 OR tenant_b = $1) AND id > $2 "        \
                 "ORDER BY id LIMIT $3")                                      \
    X(LINK_LIST_STATUS, "SELECT " LINK_COLS " FROM links "                    \
                        "WHERE (tenant_a = $1 OR tenant_b = $1) "             \
                        "AND status = $4 AND id > $2 ORDER BY id LIMIT $3")   \
    X(LINKS_OF_PERSON, "SELECT " LINK_COLS " FROM links "                     \
                       "WHERE person_a = $1 OR person_b = $1 ORDER BY id")    \
    /* $2 = '': the operator, who may act on any link. */                     \
    X(LINK_PARTY, "SELECT count(*) FROM links WHERE id = $1 AND "             \
                  "($2::text = '' OR tenant_a = $2::text "                    \
                  "OR tenant_b = $2::text)")                                  \
    X(LINK_RESOLVE,                                                           \
      "UPDATE links SET status = $3, reason = $4, resolved_by = $5, "         \
      "resolved_key_id = $6, resolved_at = $7 WHERE id = $1 AND "             \
      "($2::text = '' OR tenant_a = $2::text OR tenant_b = $2::text) "        \
      "AND status = 'yellow'")                                                \
    X(DISCLOSURE_INSERT,                                                      \
      "INSERT INTO disclosures (check_id, requester, requester_key_id, "      \
      "owner, person_id, person_ref, reason, status, created_at) "            \
      "VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id")      \
    X(DISCLOSURE_GET, "SELECT " DISCLOSURE_COLS " FROM disclosures "          \
                      "WHERE id = $1 AND (requester = $2 OR owner = $2)")     \
    X(DISCLOSURE_LIST, "SELECT " DISCLOSURE_COLS " FROM disclosures "         \
                       "WHERE (requester = $1 OR owner = $1) AND id > $2 "    \
                       "ORDER BY id LIMIT $3")                                \
    X(DISCLOSURE_LIST_STATUS,                                                 \
      "SELECT " DISCLOSURE_COLS " FROM disclosures "                          \
      "WHERE (requester = $1 OR owner = $1) AND status = $4 AND id > $2 "     \
      "ORDER BY id LIMIT $3")                                                 \
    X(DISCLOSURE_OWNED, "SELECT count(*) FROM disclosures WHERE id = $1 "     \
                        "AND ($2::text = '' OR owner = $2::text)")            \
    X(DISCLOSURE_DECIDE,                                                      \
      "UPDATE disclosures SET status = $3, decision_reason = $4, "            \
      "decided_key_id = $5, decided_at = $6 WHERE id = $1 AND "               \
      "($2::text = '' OR owner = $2::text) AND status = 'pending'")           \
    X(COUNT_PERSONS, "SELECT count(*) FROM persons")                          \
    X(COUNT_IDENTITIES, "SELECT count(*) FROM identities")                    \
    X(COUNT_CASES, "SELECT count(*) FROM cases")                              \
    X(COUNT_ASSISTANCE, "SELECT count(*) FROM assistance")                    \
    X(COUNT_TENANTS, "SELECT count(*) FROM tenants")                          \
    X(COUNT_API_KEYS, "SELECT count(*) FROM api_keys")                        \
    X(COUNT_CHECKS, "SELECT count(*) FROM checks")                            \
    X(COUNT_LINKS, "SELECT count(*) FROM links")                              \
    X(COUNT_DISCLOSURES, "SELECT count(*) FROM disclosures")                  \
    X(COUNT_AUDIT_EVENTS, "SELECT count(*) FROM audit_events")                \
    X(COUNT_IDENTITY_HISTORY, "SELECT count(*) FROM identity_history")        \
    /* Writers of the chain queue here until the appender's transaction     \
     * ends: readers (SELECT) are not blocked, other appenders and purges   \
     * are, in every process on the database. */                            \
    X(AUDIT_LOCK, "LOCK TABLE audit_events IN EXCLUSIVE MODE")                \
    /* link_pair_lock: a transaction's advisory lock on a pair of persons \
     * (two-key form: apart from the one-key migration lock).          */   \
    X(LINK_PAIR_LOCK, "SELECT pg_advisory_xact_lock(CAST($1 AS INTEGER), "    \
                      "CAST($2 AS INTEGER))")                                 \
    /* bulk_begin: the persons, as the statistics know them (a count     \
     * scanned the table: a quarter of a second at 750,000); only a way of  \
     * loading is chosen by it. reltuples is -1 before the first VACUUM,   \
     * ANALYZE or index build, n_live_tup 0 after a reset of the counters.*/\
    X(BULK_PERSONS, "SELECT GREATEST(c.reltuples::bigint, "                  \
                    "coalesce(s.n_live_tup, 0), 0) FROM pg_class c "         \
                    "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "    \
                    "WHERE c.oid = CAST('persons' AS regclass)")             \
    X(AUDIT_HEAD, "SELECT seq, hash FROM audit_events "                       \
                  "ORDER BY seq DESC LIMIT 1")                                \
    X(AUDIT_INSERT,                                                           \
      "INSERT INTO audit_events (" AUDIT_COLS ") "                            \
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")      \
    X(AUDIT_SCAN, "SELECT " AUDIT_COLS " FROM audit_events "                  \
                  "WHERE seq > $1 ORDER BY seq LIMIT $2")                     \
    X(AUDIT_LIST_TENANT, "SELECT " AUDIT_COLS " FROM audit_events "           \
                         "WHERE tenant = $1 AND seq > $2 "                    \
                         "ORDER BY seq LIMIT $3")                             \
    X(AUDIT_PURGE_LAST, "SELECT seq, hash FROM audit_events "                 \
                        "WHERE ts_ms < $1 ORDER BY seq DESC LIMIT 1")         \
    X(AUDIT_PURGE, "DELETE FROM audit_events WHERE seq <= $1")                \
    X(CHECKPOINT_INSERT,                                                      \
      "INSERT INTO audit_checkpoints (seq, hash, ts_ms, public_key, "         \
      "signature) VALUES ($1, $2, $3, $4, $5)")                               \
    X(CHECKPOINT_LIST, "SELECT seq, hash, ts_ms, public_key, signature "      \
                       "FROM audit_checkpoints ORDER BY seq, id")             \
    X(IDENTITY_PERSON, "SELECT i.person_id FROM identities i "                \
                       "JOIN persons p ON p.id = i.person_id "                \
                       "WHERE i.id = $1 AND p.tenant = $2")                   \
    X(IDENTITY_UPDATE,                                                        \
      "UPDATE identities SET given_names = $2, surname = $3, full_name = $4, " \
      "sex = $5, birth_date = $6, birth_precision = $7, "                     \
      "birth_placeholder = $8, nationality = $9, birth_place = $10, "         \
      "address = $11, national_ref = $12, eurodac_ref = $13 WHERE id = $1")   \
    X(DOCUMENTS_DELETE, "DELETE FROM documents WHERE identity_id = $1")       \
    X(HISTORY_INSERT,                                                         \
      "INSERT INTO identity_history (identity_id, person_id, changed_at, "    \
      "key_id, old_json) VALUES ($1, $2, $3, $4, $5)")                        \
    X(HISTORY_OF, "SELECT identity_id, changed_at, key_id, old_json "         \
                  "FROM identity_history WHERE person_id = $1 ORDER BY id")   \
    X(HISTORY_DELETE, "DELETE FROM identity_history WHERE person_id = $1")    \
    X(IDENTITIES_DELETE, "DELETE FROM identities WHERE person_id = $1")       \
    X(PERSON_ERASE, "UPDATE persons SET erased_at = coalesce(erased_at, $2) " \
                    "WHERE id = $1")                                          \
    X(PERSON_RESTRICT, "UPDATE persons SET restricted = $3 "                  \
                       "WHERE id = $1 AND tenant = $2")                       \
    /* Partial closing dates count from the end of their year or month;    \
     * the dates compare as bytes, whatever the database's locale. */       \
    X(PERSONS_DUE,                                                            \
      "SELECT p.id FROM persons p WHERE p.tenant = $1 "                       \
      "AND p.erased_at IS NULL "                                              \
      "AND EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id) "          \
      "AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id "       \
      "AND NOT (c.status IN ('completed', 'withdrawn', 'absconded') "         \
      "AND c.closed_on <> '' AND (CASE length(c.closed_on) "                  \
      "WHEN 4 THEN c.closed_on || '-12-31' "                                  \
      "WHEN 7 THEN c.closed_on || '-31' ELSE c.closed_on END) "               \
      "COLLATE \"C\" < $2::text)) ORDER BY p.id")                             \
    X(CHECKS_FORGET, "UPDATE checks SET request_json = NULL "                 \
                     "WHERE created_at < $1 AND request_json IS NOT NULL")    \
    /* EXISTS reads back as PostgreSQL's boolean text, 't' or 'f'. */       \
    X(STATS_SCAN,                                                             \
      "SELECT c.tenant, c.person_id, c.id, c.destination_country, "           \
      "c.return_type, c.status, c.opened_on, a.kind, a.amount_cents, "        \
      "a.cash, a.funding, a.granted_on, a.status "                            \
      "FROM cases c LEFT JOIN assistance a ON a.case_id = c.id "              \
      "WHERE $1::text IS NULL OR c.tenant = $1 ORDER BY c.id, a.id")          \
    X(LINK_STATS, "SELECT status, count(*) FROM links WHERE $1::text IS NULL " \
                  "OR tenant_a = $1 OR tenant_b = $1 GROUP BY status")        \
    X(RED_STATS,                                                              \
      "WITH red AS (SELECT person_a AS p FROM links WHERE status = 'red' "    \
      "AND person_a IS NOT NULL AND ($1::text IS NULL OR tenant_a = $1 OR "   \
      "tenant_b = $1) UNION SELECT person_b FROM links WHERE status = 'red' " \
      "AND ($1::text IS NULL OR tenant_a = $1 OR tenant_b = $1)) "            \
      "SELECT (SELECT count(*) FROM red), "                                   \
      "(SELECT coalesce(sum(a.amount_cents), 0) FROM assistance a "           \
      "JOIN cases c ON c.id = a.case_id WHERE a.status <> 'cancelled' "       \
      "AND c.person_id IN (SELECT p FROM red))")                              \
    /* person_facts_many: a row per assistance shown (ASSIST_COLS and the   \
     * programme, NULL when none), then the person's id and flags. */        \
    X(PERSON_FACTS,                                                           \
      "SELECT " ASSIST_COLS ", c.programme, p.id, p.restricted, "             \
      "CASE WHEN p.red_links > 0 THEN 1 ELSE 0 END, "                        \
      "CASE WHEN p.erased_at IS NULL THEN 0 ELSE 1 END "                      \
      "FROM persons p LEFT JOIN (cases c JOIN assistance a "                  \
      "ON a.case_id = c.id) ON c.person_id = p.id "                           \
      "AND p.erased_at IS NULL AND (p.restricted = 0 OR p.tenant = $2) "      \
      "WHERE p.id = ANY (CAST($1 AS BIGINT[])) ORDER BY p.id, a.id")          \
    X(PERSON_FLAGS,                                                           \
      "SELECT restricted, CASE WHEN red_links > 0 THEN 1 ELSE 0 END, "        \
      "CASE WHEN erased_at IS NULL THEN 0 ELSE 1 END "                        \
      "FROM persons WHERE id = $1")                                          \
    /* Erasure: the free text of the return process is about the person;      \
     * scores, amounts and dates stay as anonymous statistics. */             \
    X(ERASE_COUNSELLING,                                                      \
      "UPDATE counselling SET outcome = NULL WHERE case_id IN (SELECT "       \
      "id FROM cases WHERE person_id = $1)")                                  \
    X(ERASE_PLANS,                                                            \
      "UPDATE plans SET components = NULL WHERE case_id IN (SELECT id "       \
      "FROM cases WHERE person_id = $1)")                                     \
    X(ERASE_FOLLOW_UPS,                                                       \
      "UPDATE follow_ups SET note = NULL WHERE case_id IN (SELECT id "        \
      "FROM cases WHERE person_id = $1)")                                     \
    X(ERASE_REFERRALS,                                                        \
      "UPDATE referrals SET reason = NULL WHERE case_id IN (SELECT id "       \
      "FROM cases WHERE person_id = $1)")                                     \
    X(FOLLOW_UP_SCAN,                                                         \
      "SELECT c.tenant, c.person_id, f.case_id, f.visited_on, f.economic, "   \
      "f.social, f.psychosocial FROM follow_ups f "                           \
      "JOIN cases c ON c.id = f.case_id "                                     \
      "WHERE CAST($1 AS TEXT) IS NULL OR c.tenant = $1 "                      \
      "ORDER BY f.case_id, f.id")                                             \
    /* ---- the return process (schema version 4) ---- */                     \
    X(COUNSEL_INSERT,                                                         \
      "INSERT INTO counselling (tenant, case_id, recorded_by, held_on, "      \
      "counsellor, outcome, created_at) VALUES ($1, $2, $3, $4, $5, $6, "     \
      "$7) RETURNING id")                                                     \
    X(COUNSEL_LIST,                                                           \
      "SELECT id, case_id, tenant, recorded_by, held_on, counsellor, "        \
      "outcome, created_at FROM counselling WHERE case_id = $1 AND "          \
      "tenant = $2 ORDER BY id")                                              \
    X(REFERRAL_INSERT,                                                        \
      "INSERT INTO referrals (tenant, case_id, partner, status, "             \
      "created_at) VALUES ($1, $2, $3, 'pending', $4) RETURNING id")          \
    X(REFERRAL_GET,                                                           \
      "SELECT " REFERRAL_COLS " FROM referrals WHERE id = $1 AND (tenant = "  \
      "$2 OR partner = $2)")                                                  \
    X(REFERRAL_LIST,                                                          \
      "SELECT " REFERRAL_COLS " FROM referrals WHERE (tenant = $1 OR "        \
      "partner = $1) AND (CAST($2 AS TEXT) IS NULL OR status = $2) AND "      \
      "id > $3 ORDER BY id LIMIT $4")                                         \
    X(REFERRAL_DECIDE,                                                        \
      "UPDATE referrals SET status = $2, reason = $3, decided_key_id = "      \
      "$4, decided_at = $5 WHERE id = $1 AND partner = $6 AND status = "      \
      "'pending'")                                                            \
    X(REFERRAL_ACCESS_CASE,                                                   \
      "SELECT c.tenant FROM referrals r JOIN cases c ON c.id = "              \
      "r.case_id WHERE r.case_id = $1 AND r.partner = $2 AND r.status = "     \
      "'accepted' LIMIT 1")                                                   \
    X(REFERRAL_ACCESS_PERSON,                                                 \
      "SELECT c.tenant FROM referrals r JOIN cases c ON c.id = "              \
      "r.case_id WHERE c.person_id = $1 AND r.partner = $2 AND r.status "     \
      "= 'accepted' LIMIT 1")                                                 \
    X(PLAN_PUT,                                                               \
      "INSERT INTO plans (case_id, tenant, recorded_by, components, "         \
      "amounts, updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT "     \
      "(case_id) DO UPDATE SET recorded_by = excluded.recorded_by, "          \
      "components = excluded.components, amounts = excluded.amounts, "        \
      "updated_at = excluded.updated_at RETURNING case_id")                   \
    X(PLAN_GET,                                                               \
      "SELECT case_id, tenant, recorded_by, components, amounts, "            \
      "updated_at FROM plans WHERE case_id = $1 AND tenant = $2")             \
    X(FOLLOW_UP_INSERT,                                                       \
      "INSERT INTO follow_ups (tenant, case_id, recorded_by, "                \
      "visited_on, economic, social, psychosocial, note, created_at) "        \
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")             \
    X(FOLLOW_UP_LIST,                                                         \
      "SELECT id, case_id, tenant, recorded_by, visited_on, economic, "       \
      "social, psychosocial, note, created_at FROM follow_ups WHERE "         \
      "case_id = $1 AND tenant = $2 ORDER BY id")

#define STMT_ENUM(name, sql) ST_##name,
enum stmt_id { STMTS(STMT_ENUM) ST__COUNT };
#undef STMT_ENUM

#define STMT_SQL(name, sql) [ST_##name] = sql,
static const char *const stmt_sql[ST__COUNT] = {STMTS(STMT_SQL)};
#undef STMT_SQL

static const struct {
    const char *table;
    enum stmt_id stmt;
} count_tables[] = {
    {"persons", ST_COUNT_PERSONS},     {"identities", ST_COUNT_IDENTITIES},
    {"cases", ST_COUNT_CASES},         {"assistance", ST_COUNT_ASSISTANCE},
    {"tenants", ST_COUNT_TENANTS},     {"api_keys", ST_COUNT_API_KEYS},
    {"checks", ST_COUNT_CHECKS},       {"links", ST_COUNT_LINKS},
    {"disclosures", ST_COUNT_DISCLOSURES},
    {"audit_events", ST_COUNT_AUDIT_EVENTS},
    {"identity_history", ST_COUNT_IDENTITY_HISTORY},
};

/* ---- the backend struct ----------------------------------------------------- */

/* At most this many statements wait in the pipeline before their results
 * are read: more than a check sends between two statements whose results
 * it needs (its hits, 20 by default, and a few savepoints); a longer run
 * costs one more round trip per PIPE_MAX statements. */
#define PIPE_MAX 64

typedef struct pg_store {
    avrr_store base; /* first: a pg_store * is an avrr_store * */
    PGconn *conn;
    /* The registry named for messages: user@host:port/database, never the
     * password a URI may carry. */
    char *where;
    bool prepared[ST__COUNT];
    /* The audit log's head as this connection left it in the open
     * transaction, which holds the log's lock (taken by an audit_append or
     * by check_insert_links, whose head read rides with the check): the
     * next audit_append of the transaction chains on it without a read.
     * Forgotten at every transaction's start and end and at every rollback
     * to a savepoint (the lock may be gone with it). */
    bool head_known;
    int64_t head_seq;
    uint8_t head_hash[32];
    /* Round trips to the server so far (statements and pipeline syncs;
     * not COPY and migrations): for tests and benches (round_trips). */
    uint64_t round_trips;
    /* Statements sent in pipeline mode whose results are not read yet
     * (pipe_send); see "pipelining" below. */
    int n_pending;
    struct {
        const char *what;
        char field[32]; /* for the message of a late error */
        int prepare;    /* the statement this entry prepares, or -1 */
        PGresult **dest; /* where its result goes (pipe_send_into), or NULL */
    } pending[PIPE_MAX];
    /* The transaction status the pending statements leave (libpq says
     * "active" while they are outstanding). */
    PGTransactionStatusType pipe_tx;
    /* A pipelined statement failed after its caller had returned: the
     * transaction may only be rolled back (see pgs_commit). */
    bool late_error;
    /* bulk_begin took the secondary indexes and foreign keys of the
     * person tables away (BULK_DEFER_*), the indexes for a load into a
     * small registry (bulk_indexes); bulk_end puts them back. */
    bool bulk_deferred, bulk_indexes;
} pg_store;

static const avrr_store_ops postgres_ops;

static pg_store *pg(avrr_store *s)
{
    return (pg_store *)s;
}

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

/* ---- errors -------------------------------------------------------------- */

/* The first line of a server or libpq message, for avrr_error (whose
 * message is one line). */
static void first_line(const char *msg, char *buf, size_t size)
{
    size_t n = msg != NULL ? strcspn(msg, "\n") : 0;
    if (n >= size)
        n = size - 1;
    if (n > 0)
        memcpy(buf, msg, n);
    buf[n] = '\0';
}

/* The one mapping of PostgreSQL failures to avrr_err. res may be NULL
 * (libpq could not even allocate a result, or the connection is gone).
 * `what` names the operation or record for the message. */
static avrr_err pg_error(pg_store *s, const PGresult *res, const char *field,
                         const char *what, avrr_error *e)
{
    const char *state =
        res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char msg[200];

    first_line(res != NULL ? PQresultErrorMessage(res)
                           : PQerrorMessage(s->conn),
               msg, sizeof msg);
    if (res == NULL && PQstatus(s->conn) == CONNECTION_OK)
        return avrr_error_set(e, AVRR_ENOMEM, field,
                              "out of memory in the database client (%s)",
                              what);
    if (state == NULL || strlen(state) != 5) {
        if (PQstatus(s->conn) != CONNECTION_OK)
            return avrr_error_set(e, AVRR_EIO, "database",
                                  "lost the connection to %s: %s", s->where,
                                  msg);
        return avrr_error_set(e, AVRR_EDB, field, "%s: %s", what, msg);
    }
    if (strcmp(state, "23505") == 0) /* unique_violation */
        return avrr_error_set(e, AVRR_EEXISTS, field, "%s already exists",
                              what);
    if (strcmp(state, "23503") == 0) /* foreign_key_violation */
        return avrr_error_set(e, AVRR_ENOTFOUND, field,
                              "%s refers to a record that does not exist",
                              what);
    /* Other integrity violations (check, not null) and data exceptions
     * (class 22: a value the column cannot hold, invalid UTF-8...). */
    if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
        return avrr_error_set(e, AVRR_EINVALID, field,
                              "%s refused by the registry: %s", what, msg);
    if (strcmp(state, "53200") == 0) /* out_of_memory */
        return avrr_error_set(e, AVRR_ENOMEM, field,
                              "out of memory in the database (%s)", what);
    /* Connection exceptions, and the server ending the session (57P01
     * admin_shutdown, as pg_terminate_backend or a restart give it; 57P02
     * crash_shutdown; 57P03 cannot_connect_now; 57P04 database_dropped):
     * the connection is gone either way. */
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
        return avrr_error_set(e, AVRR_EIO, "database", "%s: %s: %s",
                              s->where, what, msg);
    return avrr_error_set(e, AVRR_EDB, field, "%s: %s (SQLSTATE %s)", what,
                          msg, state);
}

static avrr_err corrupt(pg_store *s, const char *what, avrr_error *e)
{
    return avrr_error_set(e, AVRR_EDB, NULL,
                          "registry %s holds an invalid %s", s->where, what);
}

static avrr_err no_memory(avrr_error *e)
{
    return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
}

/* ---- parameters ------------------------------------------------------------ */

/* The parameters of one statement. Text values point at the caller's
 * strings (which must outlive the call) or at num[] for numbers; blobs go
 * in binary format. */
typedef struct pq_params {
    int n;
    const char *v[MAX_PARAMS];
    int len[MAX_PARAMS];
    int fmt[MAX_PARAMS];
    char num[MAX_PARAMS][32];
} pq_params;

static int p_next(pq_params *p)
{
    /* A statement with more parameters is a programming error caught by
     * the tests: every call site has a fixed count. */
    if (p->n >= MAX_PARAMS)
        abort();
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    return p->n++;
}

/* Text; NULL is SQL NULL. */
static void p_text(pq_params *p, const char *v)
{
    int i = p_next(p);
    p->v[i] = v;
}

static void p_int(pq_params *p, int64_t v)
{
    int i = p_next(p);
    snprintf(p->num[i], sizeof p->num[i], "%lld", (long long)v);
    p->v[i] = p->num[i];
}

static void p_double(pq_params *p, double v)
{
    int i = p_next(p);
    /* 17 significant digits: the double reads back exactly. */
    snprintf(p->num[i], sizeof p->num[i], "%.17g", v);
    p->v[i] = p->num[i];
}

/* An optional reference: 0 means "none" and is stored as NULL. */
static void p_ref(pq_params *p, int64_t v)
{
    if (v > 0)
        p_int(p, v);
    else
        p_text(p, NULL);
}

/* An optional tenant code: "" is stored as NULL. */
static void p_code(pq_params *p, const char *v)
{
    p_text(p, v != NULL && v[0] != '\0' ? v : NULL);
}

static void p_blob(pq_params *p, const void *v, size_t n)
{
    int i = p_next(p);
    p->v[i] = v;
    p->len[i] = (int)n;
    p->fmt[i] = 1;
}

/* ---- running statements ------------------------------------------------------ */

/* Runs statement `id` (preparing it on first use) and returns its result in
 * *out (NULL: cleared here). field and what are for the error. */
/* ---- pipelining ------------------------------------------------------------
 *
 * Every statement costs a round trip to the server, and a check makes many
 * small writes under the service's store lock. A statement whose result is
 * only "it worked" (BEGIN, SAVEPOINT, RELEASE, a table lock, the hits of a
 * check, an audit event) is sent at once in libpq's pipeline mode
 * (pipe_send) and its result read together with the next statement whose
 * result is needed (pq_run), or at COMMIT: they share its round trip.
 *
 * The price is that such a statement fails late: its error is reported by
 * the statement that reads it. A late error marks the transaction as
 * failed (late_error) until it is rolled back, so that no savepoint
 * rollback of a later write can make it look usable and COMMIT refuses:
 * the write that failed is never silently lost. */

static void pipe_exit(pg_store *s)
{
    s->n_pending = 0;
    if (PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF)
        (void)PQexitPipelineMode(s->conn);
}

/* The transaction status as it will be once the pending statements ran. */
static PGTransactionStatusType tx_status(pg_store *s)
{
    return s->n_pending > 0 ? s->pipe_tx : PQtransactionStatus(s->conn);
}

/* Statement `id` ends a transaction or a savepoint's work, or starts a
 * transaction: the audit head known (head_known) may be wrong after it. */
static void head_forget(pg_store *s, enum stmt_id id)
{
    if (id == ST_BEGIN || id == ST_COMMIT || id == ST_ROLLBACK ||
        id == ST_ROLLBACK_TO)
        s->head_known = false;
}

/* Reads the results of the pending statements, the last of which (when
 * `last` is not NULL) is the caller's own: its result goes to *last, and
 * an error of the others is a late one unless `own` (the caller sent them
 * all and reports their errors itself). The pipeline must end with a sync
 * already sent. */
static avrr_err pipe_read(pg_store *s, PGresult **last, const char *field,
                          bool own, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    int n = s->n_pending;
    PGresult *res;

    for (int i = 0; i < n; i++) {
        bool mine = last != NULL && i == n - 1;
        ExecStatusType st;

        res = PQgetResult(s->conn);
        if (res == NULL) {
            /* the connection is gone: nothing more to read */
            if (result == AVRR_OK)
                result = pg_error(s, NULL, NULL, s->pending[i].what, e);
            s->late_error = true;
            break;
        }
        st = PQresultStatus(res);
        /* A statement whose PREPARE did not run is not prepared. */
        if (s->pending[i].prepare >= 0 && st != PGRES_COMMAND_OK)
            s->prepared[s->pending[i].prepare] = false;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (mine && result == AVRR_OK) {
                *last = res;
                res = NULL;
            } else if (s->pending[i].dest != NULL) {
                *s->pending[i].dest = res;
                res = NULL;
            }
        } else if (st == PGRES_PIPELINE_ABORTED) {
            /* skipped after an earlier error, which is the one reported */
        } else if (result == AVRR_OK) {
            result = pg_error(s, res,
                              mine ? field
                                   : (s->pending[i].field[0] ? s->pending[i].field
                                                             : NULL),
                              s->pending[i].what, e);
            if (!mine && !own)
                s->late_error = true;
        }
        PQclear(res);
        /* Each statement's results end with a NULL. */
        while ((res = PQgetResult(s->conn)) != NULL)
            PQclear(res);
    }
    /* Then the sync, and the NULL that leaves libpq idle again. */
    res = PQgetResult(s->conn);
    if (res != NULL && PQresultStatus(res) != PGRES_PIPELINE_SYNC &&
        result == AVRR_OK)
        result = pg_error(s, res, NULL, "pipeline", e);
    while (res != NULL) {
        PQclear(res);
        res = PQgetResult(s->conn);
    }
    if (result != AVRR_OK && last != NULL) {
        PQclear(*last);
        *last = NULL;
    }
    pipe_exit(s);
    return result;
}

/* Sends a statement in pipeline mode without waiting for its result; the
 * parameters are copied into libpq's buffer before this returns. When it
 * runs, its result goes to *dest (the caller clears it; it stays NULL when
 * the statement failed), unless dest is NULL: the caller reads the
 * pipeline (pipe_flush, scope_end) before *dest goes out of scope. */
static avrr_err pipe_send_into(pg_store *s, enum stmt_id id,
                               const pq_params *p, const char *field,
                               const char *what, PGresult **dest,
                               avrr_error *e)
{
    char name[24];
    avrr_err result;

    snprintf(name, sizeof name, "avrr_%d", (int)id);
    head_forget(s, id);
    if (s->n_pending == 0) {
        s->pipe_tx = PQtransactionStatus(s->conn);
        if (PQenterPipelineMode(s->conn) != 1)
            return pg_error(s, NULL, NULL, what, e);
    }
    if (s->n_pending + 2 > PIPE_MAX) {
        /* Full: read what is there, then go on with a new pipeline. */
        PGTransactionStatusType tx = s->pipe_tx;
        s->round_trips++;
        if (PQpipelineSync(s->conn) != 1) {
            result = pg_error(s, NULL, NULL, what, e);
            pipe_exit(s);
            return result;
        }
        result = pipe_read(s, NULL, NULL, false, e);
        if (result != AVRR_OK)
            return result;
        s->pipe_tx = tx;
        if (PQenterPipelineMode(s->conn) != 1)
            return pg_error(s, NULL, NULL, what, e);
    }
    if (!s->prepared[id]) {
        if (PQsendPrepare(s->conn, name, stmt_sql[id], 0, NULL) != 1)
            goto failed;
        s->prepared[id] = true;
        s->pending[s->n_pending].what = "preparing a statement";
        s->pending[s->n_pending].field[0] = '\0';
        s->pending[s->n_pending].dest = NULL;
        s->pending[s->n_pending++].prepare = (int)id;
    }
    if (PQsendQueryPrepared(s->conn, name, p != NULL ? p->n : 0,
                            p != NULL ? p->v : NULL,
                            p != NULL ? p->len : NULL,
                            p != NULL ? p->fmt : NULL, 0) != 1)
        goto failed;
    s->pending[s->n_pending].what = what;
    snprintf(s->pending[s->n_pending].field, sizeof s->pending[0].field, "%s",
             field != NULL ? field : "");
    s->pending[s->n_pending].dest = dest;
    s->pending[s->n_pending++].prepare = -1;
    if (id == ST_BEGIN)
        s->pipe_tx = PQTRANS_INTRANS;
    return AVRR_OK;
failed:
    /* libpq could not queue it: the connection is broken or out of
     * memory; what was queued before is lost with the transaction. */
    result = pg_error(s, NULL, NULL, what, e);
    s->late_error = s->late_error || s->n_pending > 0;
    (void)PQpipelineSync(s->conn);
    (void)pipe_read(s, NULL, NULL, false, NULL);
    return result;
}

/* pipe_send for a statement whose result nobody reads. */
static avrr_err pipe_send(pg_store *s, enum stmt_id id, const pq_params *p,
                          const char *field, const char *what, avrr_error *e)
{
    return pipe_send_into(s, id, p, field, what, NULL, e);
}

/* Reads every pending result (before a statement that cannot be
 * pipelined: COPY, ROLLBACK; or, `own`, to report the errors of writes
 * the caller sent itself before it returns). */
static avrr_err pipe_flush(pg_store *s, bool own, avrr_error *e)
{
    if (s->n_pending == 0)
        return AVRR_OK;
    s->round_trips++;
    if (PQpipelineSync(s->conn) != 1) {
        avrr_err result = pg_error(s, NULL, NULL, "pipeline", e);
        s->late_error = true;
        pipe_exit(s);
        return result;
    }
    return pipe_read(s, NULL, NULL, own, e);
}

static avrr_err pq_run(pg_store *s, enum stmt_id id, const pq_params *p,
                       PGresult **out, const char *field, const char *what,
                       avrr_error *e)
{
    char name[24];
    PGresult *res = NULL;
    ExecStatusType st;
    avrr_err result = AVRR_OK;

    if (out != NULL)
        *out = NULL;
    if (s->n_pending > 0) {
        /* Behind pipelined statements: one more, a sync, one round trip. */
        result = pipe_send(s, id, p, field, what, e);
        if (result != AVRR_OK)
            return result;
        s->round_trips++;
        if (PQpipelineSync(s->conn) != 1) {
            result = pg_error(s, NULL, field, what, e);
            s->late_error = true;
            pipe_exit(s);
            return result;
        }
        result = pipe_read(s, &res, field, false, e);
        if (result == AVRR_OK && out != NULL)
            *out = res;
        else
            PQclear(res);
        return result;
    }
    snprintf(name, sizeof name, "avrr_%d", (int)id);
    head_forget(s, id);
    if (!s->prepared[id]) {
        s->round_trips++;
        res = PQprepare(s->conn, name, stmt_sql[id], 0, NULL);
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
            result = pg_error(s, res, NULL, "preparing a statement", e);
            PQclear(res);
            return result;
        }
        PQclear(res);
        s->prepared[id] = true;
    }
    s->round_trips++;
    res = PQexecPrepared(s->conn, name, p != NULL ? p->n : 0,
                         p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
                         p != NULL ? p->fmt : NULL, 0);
    st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        result = pg_error(s, res, field, what, e);
        PQclear(res);
        return result;
    }
    if (out != NULL)
        *out = res;
    else
        PQclear(res);
    return AVRR_OK;
}

/* Runs a statement and returns the number of rows it changed. */
static avrr_err pq_change(pg_store *s, enum stmt_id id, const pq_params *p,
                          int64_t *changed, const char *field,
                          const char *what, avrr_error *e)
{
    PGresult *res = NULL;
    avrr_err result = pq_run(s, id, p, &res, field, what, e);

    *changed = 0;
    if (result == AVRR_OK)
        *changed = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return result;
}

/* ---- reading columns ------------------------------------------------------ */

static int64_t col_int(const PGresult *r, int row, int i)
{
    if (PQgetisnull(r, row, i))
        return 0; /* NULL reads as 0, as sqlite3_column_int64 does */
    return strtoll(PQgetvalue(r, row, i), NULL, 10);
}

static double col_double(const PGresult *r, int row, int i)
{
    if (PQgetisnull(r, row, i))
        return 0;
    return strtod(PQgetvalue(r, row, i), NULL);
}

/* A heap copy of a text column, NULL for SQL NULL. */
static avrr_err col_str(const PGresult *r, int row, int i, char **out,
                        avrr_error *e)
{
    size_t n;
    char *copy;

    *out = NULL;
    if (PQgetisnull(r, row, i))
        return AVRR_OK;
    n = (size_t)PQgetlength(r, row, i);
    copy = avrr_malloc(n + 1);
    if (copy == NULL)
        return no_memory(e);
    memcpy(copy, PQgetvalue(r, row, i), n);
    copy[n] = '\0';
    *out = copy;
    return AVRR_OK;
}

/* A text column into a fixed buffer (tenant codes, country codes). */
static avrr_err col_fixed(pg_store *s, const PGresult *r, int row, int i,
                          char *buf, size_t size, const char *what,
                          avrr_error *e)
{
    size_t n;

    buf[0] = '\0';
    if (PQgetisnull(r, row, i))
        return AVRR_OK; /* NULL: "" */
    n = (size_t)PQgetlength(r, row, i);
    if (n >= size)
        return corrupt(s, what, e);
    memcpy(buf, PQgetvalue(r, row, i), n);
    buf[n] = '\0';
    return AVRR_OK;
}

/* An enumeration stored as its wire name. */
static avrr_err col_enum(pg_store *s, const PGresult *r, int row, int i,
                         int (*parse)(const char *), int *out,
                         const char *what, avrr_error *e)
{
    int v = PQgetisnull(r, row, i) ? -1 : parse(PQgetvalue(r, row, i));

    if (v < 0)
        return corrupt(s, what, e);
    *out = v;
    return AVRR_OK;
}

/* core.h has no avrr_band_parse (bands never come from input). */
static int band_parse(const char *name)
{
    for (int i = 0; i < AVRR_BAND__COUNT; i++) {
        if (strcmp(name, avrr_band_name(i)) == 0)
            return i;
    }
    return -1;
}

/* A date stored as its canonical text. */
static avrr_err col_date(pg_store *s, const PGresult *r, int row, int i,
                         avrr_date *out, const char *what, avrr_error *e)
{
    const char *t = PQgetisnull(r, row, i) ? "" : PQgetvalue(r, row, i);

    if (avrr_date_parse(t, out, what, NULL) != AVRR_OK)
        return corrupt(s, what, e);
    return AVRR_OK;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes 2n hex digits into n bytes; false on a bad digit. */
static bool unhex(const char *text, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(text[2 * i]);
        int lo = hi >= 0 ? hex_value(text[2 * i + 1]) : -1;
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* A BYTEA column of exactly n bytes, in the text result format ("\x" and
 * hex digits: bytea_output's default since PostgreSQL 9.0). */
static avrr_err col_blob(pg_store *s, const PGresult *r, int row, int i,
                         uint8_t *out, size_t n, const char *what,
                         avrr_error *e)
{
    const char *t = PQgetvalue(r, row, i);

    if (PQgetisnull(r, row, i) ||
        (size_t)PQgetlength(r, row, i) != 2 + 2 * n || t[0] != '\\' ||
        t[1] != 'x' || !unhex(t + 2, out, n))
        return corrupt(s, what, e);
    return AVRR_OK;
}

/* Grows an array of `size`-byte elements to hold `need`, zeroing the new
 * part. Returns the (possibly moved) array, or NULL with arr untouched. */
static void *grow(void *arr, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap != 0 ? *cap : 8;
    char *p;

    if (need <= *cap)
        return arr;
    while (ncap < need)
        ncap *= 2;
    p = avrr_realloc(arr, ncap * size);
    if (p == NULL)
        return NULL;
    memset(p + *cap * size, 0, (ncap - *cap) * size);
    *cap = ncap;
    return p;
}

/* A zeroed array of n elements; NULL for none (as the list operations
 * return an empty result), so that NULL is a failure only when n > 0. */
static void *new_array(size_t n, size_t size)
{
    return n > 0 ? avrr_calloc(n, size) : NULL;
}

static size_t clamp_limit(size_t limit)
{
    return limit == 0 || limit > LIST_LIMIT_MAX ? LIST_LIMIT_MAX : limit;
}

/* ---- small query helpers ---------------------------------------------------- */

/* One integer from a statement (count, version). */
static avrr_err query_int(pg_store *s, enum stmt_id id, const pq_params *p,
                          int64_t *out, const char *what, avrr_error *e)
{
    PGresult *res = NULL;
    avrr_err result = pq_run(s, id, p, &res, NULL, what, e);

    *out = 0;
    if (result == AVRR_OK) {
        if (PQntuples(res) != 1 || PQnfields(res) < 1)
            result = avrr_error_set(e, AVRR_EDB, NULL, "%s: no result",
                                    what);
        else
            *out = col_int(res, 0, 0);
    }
    PQclear(res);
    return result;
}

/* True (in *owned) when row `row` of persons, cases, checks (or a link or
 * disclosure, by their statements) belongs to tenant. */
static avrr_err owned_by(pg_store *s, enum stmt_id id, int64_t row,
                         const char *tenant, bool *owned, avrr_error *e)
{
    pq_params p = {0};
    int64_t n = 0;
    avrr_err result;

    p_int(&p, row);
    p_text(&p, tenant != NULL ? tenant : "");
    result = query_int(s, id, &p, &n, "checking ownership", e);
    *owned = result == AVRR_OK && n > 0;
    return result;
}

/* ---- write scopes ----------------------------------------------------------- */

/* A write: a savepoint inside the caller's transaction (so that a refused
 * statement does not abort the caller's whole transaction, as it would in
 * PostgreSQL), our own transaction for a multi-statement write outside one,
 * nothing for a single statement outside one (autocommit). */
typedef enum scope_kind { SCOPE_NONE, SCOPE_TX, SCOPE_SAVEPOINT } scope_kind;
typedef struct write_scope {
    scope_kind kind;
} write_scope;

static avrr_err scope_begin(pg_store *s, write_scope *w, bool multi,
                            avrr_error *e)
{
    if (s->late_error) {
        w->kind = SCOPE_NONE;
        return avrr_error_set(e, AVRR_EDB, NULL,
                              "the transaction failed earlier and must be "
                              "rolled back");
    }
    switch (tx_status(s)) {
    case PQTRANS_IDLE:
        s->head_known = false; /* no transaction holds the audit lock */
        w->kind = multi ? SCOPE_TX : SCOPE_NONE;
        break;
    case PQTRANS_INTRANS:
        w->kind = SCOPE_SAVEPOINT;
        break;
    case PQTRANS_INERROR:
        w->kind = SCOPE_NONE;
        return avrr_error_set(e, AVRR_EDB, NULL,
                              "the transaction failed earlier and must be "
                              "rolled back");
    default:
        w->kind = SCOPE_NONE;
        return avrr_error_set(e, AVRR_EIO, "database",
                              "no usable connection to %s", s->where);
    }
    if (w->kind == SCOPE_NONE)
        return AVRR_OK;
    /* Pipelined: it rides with the scope's first statement. */
    return pipe_send(s, w->kind == SCOPE_TX ? ST_BEGIN : ST_SAVEPOINT, NULL,
                     NULL, "starting a write", e);
}

/* Ends the scope: keeps the work when result is AVRR_OK, else undoes it.
 * Returns the final result. */
static avrr_err scope_end(pg_store *s, write_scope *w, avrr_err result,
                          avrr_error *e)
{
    if (w->kind == SCOPE_NONE)
        return result;
    if (result == AVRR_OK) {
        /* A savepoint's RELEASE rides with the next statement; our own
         * transaction's COMMIT reads everything sent before it. */
        if (w->kind == SCOPE_TX)
            result = pq_run(s, ST_COMMIT, NULL, NULL, NULL,
                            "finishing a write", e);
        else
            result = pipe_send(s, ST_RELEASE, NULL, NULL, "finishing a write",
                               e);
        if (result == AVRR_OK)
            return AVRR_OK;
    }
    /* Errors here are ignored: the first error is the one to report. */
    (void)pipe_flush(s, false, NULL);
    if (w->kind == SCOPE_TX) {
        if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
            (void)pq_run(s, ST_ROLLBACK, NULL, NULL, NULL, "rolling back",
                         NULL);
        s->late_error = false;
    } else {
        (void)pq_run(s, ST_ROLLBACK_TO, NULL, NULL, NULL, "rolling back",
                     NULL);
        (void)pq_run(s, ST_RELEASE, NULL, NULL, NULL, "rolling back", NULL);
    }
    return result;
}

/* A single-statement write in its scope, returning the changed row count
 * (changed may be NULL) or, for INSERT ... RETURNING id, the new id. */
static avrr_err write1(pg_store *s, enum stmt_id id, const pq_params *p,
                       int64_t *changed, int64_t *new_id, const char *field,
                       const char *what, avrr_error *e)
{
    PGresult *res = NULL;
    write_scope w;
    avrr_err result = scope_begin(s, &w, false, e);

    if (changed != NULL)
        *changed = 0;
    if (new_id != NULL)
        *new_id = 0;
    if (result != AVRR_OK)
        return result;
    result = pq_run(s, id, p, &res, field, what, e);
    if (result == AVRR_OK) {
        if (changed != NULL)
            *changed = strtoll(PQcmdTuples(res), NULL, 10);
        if (new_id != NULL) {
            if (PQntuples(res) == 1)
                *new_id = col_int(res, 0, 0);
            else
                result = avrr_error_set(e, AVRR_EDB, NULL,
                                        "%s: no id returned", what);
        }
    }
    PQclear(res);
    return scope_end(s, &w, result, e);
}

/* INSERT ... RETURNING id inside a scope the caller holds. */
static avrr_err insert_id(pg_store *s, enum stmt_id id, const pq_params *p,
                          int64_t *new_id, const char *field,
                          const char *what, avrr_error *e)
{
    PGresult *res = NULL;
    avrr_err result = pq_run(s, id, p, &res, field, what, e);

    *new_id = 0;
    if (result == AVRR_OK) {
        if (PQntuples(res) == 1)
            *new_id = col_int(res, 0, 0);
        else
            result = avrr_error_set(e, AVRR_EDB, NULL, "%s: no id returned",
                                    what);
    }
    PQclear(res);
    return result;
}

/* ---- open, migrations, close ------------------------------------------------ */

static void pg_close(avrr_store *base)
{
    pg_store *s = pg(base);

    if (s == NULL)
        return;
    PQfinish(s->conn);
    avrr_free(s->where);
    avrr_free(s);
}

/* libpq prints NOTICEs on stderr by default; the store reports through
 * avrr_error only. */
static void quiet_notices(void *arg, const PGresult *res)
{
    (void)arg;
    (void)res;
}

/* "user@host:port/database" of an open connection, for messages. */
static char *describe(PGconn *conn)
{
    const char *user = PQuser(conn), *host = PQhost(conn),
               *port = PQport(conn), *db = PQdb(conn);
    char buf[512];

    snprintf(buf, sizeof buf, "postgresql://%s@%s:%s/%s",
             user != NULL ? user : "", host != NULL ? host : "",
             port != NULL ? port : "", db != NULL ? db : "");
    return avrr_strdup(buf);
}

static avrr_err too_new(pg_store *s, int64_t version, avrr_error *e)
{
    return avrr_error_set(e, AVRR_EVERSION, NULL,
                          "registry %s has schema version %lld, this avrr "
                          "understands up to %d: upgrade avrr",
                          s->where, (long long)version, AVRR_SCHEMA_VERSION);
}

static avrr_err has_table(pg_store *s, const char *name, bool *yes,
                          avrr_error *e)
{
    pq_params p = {0};
    int64_t n = 0;
    avrr_err result;

    p_text(&p, name);
    result = query_int(s, ST_HAS_TABLE, &p, &n, "reading the schema", e);
    *yes = n > 0;
    return result;
}

/* The registry's schema version: 0 before migration 1. */
static avrr_err schema_version(pg_store *s, int64_t *version, avrr_error *e)
{
    bool yes = false;
    avrr_err result = has_table(s, "schema_migrations", &yes, e);

    *version = 0;
    if (result != AVRR_OK || !yes)
        return result;
    return query_int(s, ST_SCHEMA_VERSION, NULL, version,
                     "reading the schema version", e);
}

/* Checks that the database is an avrr registry this build can use, or an
 * empty one that we were asked to make one. Changes nothing. */
static avrr_err check_registry(pg_store *s, bool create, avrr_error *e)
{
    int64_t tables = 0, is_avrr = 0, version = 0;
    bool has_meta = false;
    avrr_err result = query_int(s, ST_TABLE_COUNT, NULL, &tables,
                                "reading the schema", e);

    if (result != AVRR_OK)
        return result;
    if (tables == 0) {
        if (!create)
            return avrr_error_set(e, AVRR_ENOTFOUND, "database",
                                  "no registry at %s (create one with "
                                  "`avrr init`)",
                                  s->where);
        return AVRR_OK;
    }
    result = has_table(s, "avrr_meta", &has_meta, e);
    if (result == AVRR_OK && has_meta)
        result = query_int(s, ST_META_APP, NULL, &is_avrr,
                           "reading avrr_meta", e);
    if (result != AVRR_OK)
        return result;
    if (is_avrr == 0)
        return avrr_error_set(e, AVRR_EINVALID, "database",
                              "%s is a PostgreSQL database but not an avrr "
                              "registry",
                              s->where);
    result = schema_version(s, &version, e);
    if (result != AVRR_OK)
        return result;
    if (version > AVRR_SCHEMA_VERSION)
        return too_new(s, version, e);
    return AVRR_OK;
}

/* Applies one migration and records it, in one transaction under the
 * migration lock; does nothing when another process got there first. */
static avrr_err migrate_one(pg_store *s, int v, avrr_error *e)
{
    int64_t version = 0;
    char what[64];
    pq_params p = {0};
    PGresult *res = NULL;
    avrr_err result;

    snprintf(what, sizeof what, "upgrading to schema version %d", v);
    result = pq_run(s, ST_BEGIN, NULL, NULL, NULL, what, e);
    if (result != AVRR_OK)
        return result;
    result = pq_run(s, ST_LOCK_MIGRATE, NULL, NULL, NULL, what, e);
    if (result == AVRR_OK)
        result = schema_version(s, &version, e);
    if (result != AVRR_OK)
        goto out;
    if (version > AVRR_SCHEMA_VERSION) {
        result = too_new(s, version, e);
        goto out;
    }
    if (version >= v)
        goto out; /* done meanwhile by another process */
    /* The migrations are constant DDL scripts of several statements, which
     * only the simple query protocol runs; nothing in them comes from
     * input. */
    res = PQexec(s->conn, migrations[v - 1]);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        result = pg_error(s, res, NULL, what, e);
        goto out;
    }
    p_int(&p, v);
    p_int(&p, now_seconds());
    result = pq_run(s, ST_MIGRATION_DONE, &p, NULL, NULL, what, e);
out:
    PQclear(res);
    if (result == AVRR_OK)
        return pq_run(s, ST_COMMIT, NULL, NULL, NULL, what, e);
    if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        (void)pq_run(s, ST_ROLLBACK, NULL, NULL, NULL, "rolling back", NULL);
    return result;
}

static avrr_err migrate(pg_store *s, avrr_error *e)
{
    int64_t version = 0;
    avrr_err result = schema_version(s, &version, e);

    for (int v = (int)version + 1; result == AVRR_OK && v <= N_MIGRATIONS;
         v++)
        result = migrate_one(s, v, e);
    return result;
}

avrr_err avrr__postgres_open(const char *uri, const avrr_store_options *opt,
                             avrr_store **out, avrr_error *e)
{
    /* The URI first, expanded; what follows overrides it: avrr speaks
     * UTF-8 whatever the server's or the environment's default. */
    const char *const keys[] = {"dbname", "fallback_application_name",
                                "client_encoding", NULL};
    const char *const values[] = {uri, "avrr", "UTF8", NULL};
    pg_store *s = NULL;
    char msg[200];
    avrr_err result = AVRR_OK;

    if (out != NULL)
        *out = NULL;
    if (uri == NULL || uri[0] == '\0' || out == NULL || opt == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "database",
                              "no registry URI given");
    /* Field-level encryption (crypt.h) is SQLite's only, for now: a caller
     * who gives a key believes the data sealed, and on PostgreSQL it would
     * not be. */
    if (opt->data_key != NULL && opt->data_key[0] != '\0')
        return avrr_error_set(e, AVRR_EINVALID, "data_key",
                              "PostgreSQL registries are not encrypted by "
                              "avrr (yet): unset AVRR_DATA_KEY and rely on "
                              "the server's storage encryption");
    s = avrr_calloc(1, sizeof *s);
    if (s == NULL)
        return no_memory(e);
    s->base.ops = &postgres_ops;
    s->conn = PQconnectdbParams(keys, values, 1);
    if (s->conn == NULL) {
        result = no_memory(e);
        goto out;
    }
    if (PQstatus(s->conn) != CONNECTION_OK) {
        /* The message names host and database, never the password. */
        first_line(PQerrorMessage(s->conn), msg, sizeof msg);
        result = avrr_error_set(e, AVRR_EIO, "database",
                                "cannot connect to the PostgreSQL registry: "
                                "%s",
                                msg);
        goto out;
    }
    PQsetNoticeReceiver(s->conn, quiet_notices, NULL);
    s->where = describe(s->conn);
    if (s->where == NULL) {
        result = no_memory(e);
        goto out;
    }
    result = pq_run(s, ST_QUIET, NULL, NULL, NULL, "configuring", e);
    if (result == AVRR_OK)
        result = pq_run(s, ST_LOCK_TIMEOUT, NULL, NULL, NULL, "configuring",
                        e);
    if (result == AVRR_OK)
        result = check_registry(s, opt->create, e);
    if (result == AVRR_OK)
        result = migrate(s, e);
    if (result != AVRR_OK)
        goto out;

    s->base.magic = AVRR_STORE_MAGIC;
    *out = &s->base;
    s = NULL;
out:
    if (s != NULL)
        pg_close(&s->base);
    return result;
}

/* ---- transactions ------------------------------------------------------------ */

static void pgs_rollback(avrr_store *base);

/* BEGIN is pipelined: it rides with the transaction's first statement
 * (a broken connection is known now, all else at that statement). */
static avrr_err pgs_begin(avrr_store *base, avrr_error *e)
{
    pg_store *s = pg(base);

    if (PQstatus(s->conn) != CONNECTION_OK)
        return avrr_error_set(e, AVRR_EIO, "database",
                              "lost the connection to %s", s->where);
    return pipe_send(s, ST_BEGIN, NULL, NULL, "starting a transaction", e);
}

static avrr_err pgs_commit(avrr_store *base, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    avrr_err result;

    /* COMMIT of a failed transaction "succeeds" as a ROLLBACK: say so. A
     * late error (a pipelined write that failed) fails the transaction
     * even when a savepoint rollback since made it usable again. */
    if (s->late_error || tx_status(s) == PQTRANS_INERROR) {
        pgs_rollback(base);
        return avrr_error_set(e, AVRR_EDB, NULL,
                              "the transaction failed and was rolled back");
    }
    result = pq_run(s, ST_COMMIT, NULL, &res, NULL, "committing", e);
    if (result == AVRR_OK && strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
        result = avrr_error_set(e, AVRR_EDB, NULL,
                                "the transaction failed and was rolled back");
    PQclear(res);
    return result;
}

static void pgs_rollback(avrr_store *base)
{
    pg_store *s = pg(base);

    (void)pipe_flush(s, false, NULL);
    if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        (void)pq_run(s, ST_ROLLBACK, NULL, NULL, NULL, "rolling back", NULL);
    s->late_error = false;
    s->head_known = false; /* the audit lock is gone */
    s->bulk_deferred = s->bulk_indexes = false; /* the DDL is undone too */
}

/* ---- tenants ------------------------------------------------------------------ */

static avrr_err retention_check(const avrr_tenant *t, avrr_error *e)
{
    if (t->retention_days < 0)
        return avrr_error_set(e, AVRR_EINVALID, "retention_days",
                              "a retention period cannot be negative");
    if (t->audit_retention_days < 0)
        return avrr_error_set(e, AVRR_EINVALID, "audit_retention_days",
                              "a retention period cannot be negative");
    return AVRR_OK;
}

static avrr_err pgs_tenant_insert(avrr_store *base, avrr_tenant *t,
                                  avrr_error *e)
{
    pg_store *s = pg(base);
    const char *policy = avrr_duplicate_policy_name((int)t->duplicate_policy);
    int64_t now = now_seconds();
    pq_params p = {0};
    char what[32];
    avrr_err result;

    if (policy == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "duplicate_policy",
                              "unknown duplicate policy");
    result = retention_check(t, e);
    if (result != AVRR_OK)
        return result;
    snprintf(what, sizeof what, "tenant %s", t->code);
    p_text(&p, t->code);
    p_text(&p, t->name);
    p_text(&p, policy);
    p_int(&p, now);
    p_int(&p, t->retention_days);
    p_int(&p, t->audit_retention_days);
    result = write1(s, ST_TENANT_INSERT, &p, NULL, NULL, "code", what, e);
    if (result == AVRR_OK)
        t->created_at = now;
    return result;
}

static avrr_err read_tenant(pg_store *s, const PGresult *r, int row,
                            avrr_tenant *t, avrr_error *e)
{
    int policy = 0;
    avrr_err result = col_fixed(s, r, row, 0, t->code, sizeof t->code,
                                "tenant code", e);
    if (result == AVRR_OK)
        result = col_str(r, row, 1, &t->name, e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 2, avrr_duplicate_policy_parse, &policy,
                          "duplicate policy", e);
    t->duplicate_policy = (avrr_duplicate_policy)policy;
    t->created_at = col_int(r, row, 3);
    t->retention_days = (int32_t)col_int(r, row, 4);
    t->audit_retention_days = (int32_t)col_int(r, row, 5);
    return result;
}

static avrr_err pgs_tenant_get(avrr_store *base, const char *code,
                               avrr_tenant *out, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    memset(out, 0, sizeof *out);
    p_text(&p, code != NULL ? code : "");
    result = pq_run(s, ST_TENANT_GET, &p, &res, NULL, "reading the tenant",
                    e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "tenant", "no tenant %s",
                                code != NULL ? code : "");
    if (result == AVRR_OK)
        result = read_tenant(s, res, 0, out, e);
    PQclear(res);
    if (result != AVRR_OK)
        avrr_tenant_clear(out);
    return result;
}

static avrr_err pgs_tenant_list(avrr_store *base, avrr_tenant **out,
                                size_t *n, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    avrr_tenant *arr = NULL;
    size_t len = 0;
    avrr_err result;

    *out = NULL;
    *n = 0;
    result = pq_run(s, ST_TENANT_LIST, NULL, &res, NULL, "listing tenants",
                    e);
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++)
        result = read_tenant(s, res, i, &arr[len++], e);
out:
    PQclear(res);
    if (result != AVRR_OK) {
        avrr_store_free_tenants(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err pgs_tenant_update(avrr_store *base, const avrr_tenant *t,
                                  avrr_error *e)
{
    pg_store *s = pg(base);
    const char *policy = avrr_duplicate_policy_name((int)t->duplicate_policy);
    pq_params p = {0};
    int64_t changed = 0;
    avrr_err result;

    if (policy == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "duplicate_policy",
                              "unknown duplicate policy");
    result = retention_check(t, e);
    if (result != AVRR_OK)
        return result;
    p_text(&p, t->code);
    p_text(&p, t->name);
    p_text(&p, policy);
    p_int(&p, t->retention_days);
    p_int(&p, t->audit_retention_days);
    result = write1(s, ST_TENANT_UPDATE, &p, &changed, NULL, NULL, "tenant",
                    e);
    if (result == AVRR_OK && changed == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "tenant", "no tenant %s",
                                t->code);
    return result;
}

/* ---- registry metadata -------------------------------------------------- */

static avrr_err pgs_meta_get(avrr_store *base, const char *key, char **value,
                             avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    *value = NULL;
    p_text(&p, key != NULL ? key : "");
    result = pq_run(s, ST_META_GET, &p, &res, NULL, "reading a setting", e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "key", "no setting %s",
                                key != NULL ? key : "");
    if (result == AVRR_OK)
        result = col_str(res, 0, 0, value, e);
    PQclear(res);
    return result;
}

static avrr_err pgs_meta_set(avrr_store *base, const char *key,
                             const char *value, avrr_error *e)
{
    pq_params p = {0};

    if (key == NULL || key[0] == '\0' || value == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "key",
                              "a setting needs a key and a value");
    /* 'application' is how open() recognises a registry. */
    if (strcmp(key, "application") == 0)
        return avrr_error_set(e, AVRR_EINVALID, "key",
                              "the setting %s is read-only", key);
    p_text(&p, key);
    p_text(&p, value);
    return write1(pg(base), ST_META_SET, &p, NULL, NULL, "key", "setting",
                  e);
}

/* ---- API keys ------------------------------------------------------------------ */

#define KEY_LABEL_MAX (sizeof(((avrr_key_info *)0)->label) - 1)

static avrr_err pgs_key_insert(avrr_store *base, const char *tenant,
                               avrr_role role, const uint8_t hash[32],
                               const char *label, int64_t *id_out,
                               avrr_error *e)
{
    const char *role_name = avrr_role_name((int)role);
    pq_params p = {0};
    int64_t id = 0;
    avrr_err result;

    if (id_out != NULL)
        *id_out = 0;
    if (role_name == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "role", "unknown role");
    if (label != NULL && strlen(label) > KEY_LABEL_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "label",
                              "a key label has at most %zu bytes",
                              KEY_LABEL_MAX);
    /* A key without tenant (NULL or "") is an operator's key. */
    p_code(&p, tenant);
    p_text(&p, role_name);
    p_blob(&p, hash, 32);
    p_text(&p, label != NULL ? label : "");
    p_int(&p, now_seconds());
    result = write1(pg(base), ST_KEY_INSERT, &p, NULL, &id, NULL, "API key",
                    e);
    if (result == AVRR_OK && id_out != NULL)
        *id_out = id;
    return result;
}

static avrr_err read_key(pg_store *s, const PGresult *r, int row,
                         avrr_key_info *k, avrr_error *e)
{
    int role = 0;
    avrr_err result;

    memset(k, 0, sizeof *k);
    k->id = col_int(r, row, 0);
    result = col_fixed(s, r, row, 1, k->tenant, sizeof k->tenant,
                       "key tenant", e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 2, avrr_role_parse, &role, "key role",
                          e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 3, k->label, sizeof k->label,
                           "key label", e);
    k->role = (avrr_role)role;
    k->revoked = !PQgetisnull(r, row, 4);
    k->created_at = col_int(r, row, 5);
    return result;
}

static avrr_err pgs_key_find(avrr_store *base, const uint8_t hash[32],
                             avrr_key_info *out, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    memset(out, 0, sizeof *out);
    p_blob(&p, hash, 32);
    result = pq_run(s, ST_KEY_FIND, &p, &res, NULL, "reading the API key", e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, NULL, "no such API key");
    if (result == AVRR_OK)
        result = read_key(s, res, 0, out, e);
    PQclear(res);
    return result;
}

static avrr_err pgs_key_revoke(avrr_store *base, int64_t id, avrr_error *e)
{
    pq_params p = {0};
    int64_t changed = 0;
    avrr_err result;

    p_int(&p, id);
    p_int(&p, now_seconds());
    result = write1(pg(base), ST_KEY_REVOKE, &p, &changed, NULL, NULL,
                    "revoking the API key", e);
    if (result == AVRR_OK && changed == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no API key %lld",
                                (long long)id);
    return result;
}

static avrr_err pgs_key_list(avrr_store *base, const char *tenant,
                             avrr_key_info **out, size_t *n, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    avrr_key_info *arr = NULL;
    pq_params p = {0};
    size_t len = 0;
    avrr_err result;

    *out = NULL;
    *n = 0;
    p_text(&p, tenant);
    result = pq_run(s, ST_KEY_LIST, &p, &res, NULL, "listing API keys", e);
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++)
        result = read_key(s, res, i, &arr[len++], e);
out:
    PQclear(res);
    if (result != AVRR_OK) {
        avrr_free(arr);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

/* ---- persons and identities ----------------------------------------------------- */

static avrr_err insert_documents(pg_store *s, const avrr_identity *id,
                                 avrr_error *e)
{
    avrr_err result = AVRR_OK;

    for (size_t i = 0; result == AVRR_OK && i < id->n_documents; i++) {
        const avrr_document *d = &id->documents[i];
        pq_params p = {0};

        p_int(&p, id->id);
        p_text(&p, d->type);
        p_text(&p, d->number);
        p_text(&p, d->country);
        result = pq_run(s, ST_DOCUMENT_INSERT, &p, NULL, NULL, "document", e);
        if (result != AVRR_OK && e != NULL) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "documents[%zu]", i);
            avrr_error_prefix_field(e, prefix);
        }
    }
    return result;
}

/* The identity parameters $2..$13 of IDENTITY_INSERT and IDENTITY_UPDATE.
 * sex and birth are the caller's (they must outlive the call). */
static void p_identity(pq_params *p, const avrr_identity *id,
                       const char *sex, const char *birth)
{
    p_text(p, id->given_names);
    p_text(p, id->surname);
    p_text(p, id->full_name);
    p_text(p, sex);
    p_text(p, birth);
    p_int(p, id->birth_date.precision);
    p_int(p, id->birth_date.placeholder ? 1 : 0);
    p_text(p, id->nationality);
    p_text(p, id->birth_place);
    p_text(p, id->address);
    p_text(p, id->national_ref);
    p_text(p, id->eurodac_ref);
}

/* Inserts one identity and its documents; writes back id, person_id and
 * created_at. The caller holds a write scope. */
static avrr_err insert_identity(pg_store *s, int64_t person_id,
                                avrr_identity *id, int64_t now,
                                avrr_error *e)
{
    const char *sex = avrr_sex_name((int)id->sex);
    pq_params p = {0};
    char birth[11];
    int64_t new_id = 0;
    avrr_err result;

    if (sex == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "sex", "unknown sex");
    avrr_date_format(&id->birth_date, birth);
    p_int(&p, person_id);
    p_identity(&p, id, sex, birth);
    p_int(&p, now);
    result = insert_id(s, ST_IDENTITY_INSERT, &p, &new_id, NULL, "identity",
                       e);
    if (result != AVRR_OK)
        return result;
    id->id = new_id;
    id->person_id = person_id;
    id->created_at = now;
    return insert_documents(s, id, e);
}

static avrr_err pgs_person_insert(avrr_store *base, avrr_person *p,
                                  avrr_error *e)
{
    pg_store *s = pg(base);
    int64_t now = now_seconds();
    pq_params pp = {0};
    write_scope w;
    avrr_err result = scope_begin(s, &w, true, e);

    if (result != AVRR_OK)
        return result;
    p_text(&pp, p->tenant);
    p_int(&pp, p->restricted ? 1 : 0);
    p_int(&pp, now);
    result = insert_id(s, ST_PERSON_INSERT, &pp, &p->id, "tenant", "person",
                       e);
    if (result != AVRR_OK)
        goto out;
    p->created_at = now;
    for (size_t i = 0; i < p->n_identities; i++) {
        result = insert_identity(s, p->id, &p->identities[i], now, e);
        if (result != AVRR_OK) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "identities[%zu]", i);
            if (e != NULL)
                avrr_error_prefix_field(e, prefix);
            goto out;
        }
    }
out:
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK) {
        /* Nothing was stored: take back what was written back. */
        p->id = 0;
        p->created_at = 0;
        for (size_t i = 0; i < p->n_identities; i++) {
            p->identities[i].id = 0;
            p->identities[i].person_id = 0;
            p->identities[i].created_at = 0;
        }
    }
    return result;
}

static const char *fixed_text(const char *buf, size_t size, char *out);

/* ---- bulk insertion with COPY ------------------------------------------------ */

/* Rows for COPY ... FROM STDIN in text format: fields separated by tabs,
 * rows ended by newlines, NULL as \N, and in values a backslash, tab,
 * newline and carriage return escaped with a backslash. Values are only
 * ever data here: the SQL of every COPY is a constant. */
typedef struct copy_buf {
    char *p;
    size_t n, cap;
    bool oom;
} copy_buf;

static void cb_put(copy_buf *b, const char *v, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1u << 16;
        while (cap < b->n + n)
            cap *= 2;
        char *q = avrr_realloc(b->p, cap);
        if (q == NULL) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}

static void cb_sep(copy_buf *b, bool first)
{
    if (!first)
        cb_put(b, "\t", 1);
}

static void cb_text(copy_buf *b, bool first, const char *v)
{
    cb_sep(b, first);
    if (v == NULL) {
        cb_put(b, "\\N", 2);
        return;
    }
    for (const char *run = v;; v++) {
        const char *esc = NULL;
        switch (*v) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\0': break;
        default: continue;
        }
        cb_put(b, run, (size_t)(v - run));
        if (esc == NULL)
            return;
        cb_put(b, esc, 2);
        run = v + 1;
    }
}

/* Decimal, without printf (several per row of a bulk load). */
static void cb_int(copy_buf *b, bool first, int64_t v)
{
    char num[24];
    char *q = num + sizeof num;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--q = '-';
    cb_sep(b, first);
    cb_put(b, q, (size_t)(num + sizeof num - q));
}

/* bytea in hex: \x..., its backslash escaped for COPY. */
static void cb_bytea(copy_buf *b, bool first, const uint8_t *v, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    cb_sep(b, first);
    cb_put(b, "\\\\x", 3);
    for (size_t i = 0; i < n; i++) {
        char two[2] = {hex[v[i] >> 4], hex[v[i] & 15]};
        cb_put(b, two, 2);
    }
}

static void cb_end(copy_buf *b)
{
    cb_put(b, "\n", 1);
}

/* Runs `sql` (a constant COPY ... FROM STDIN) with the rows in b. */
static avrr_err copy_run(pg_store *s, const char *sql, const copy_buf *b,
                         const char *what, avrr_error *e)
{
    PGresult *res;
    avrr_err result = AVRR_OK;

    if (b->oom)
        return no_memory(e);
    /* COPY cannot be pipelined: read what is pending first. */
    result = pipe_flush(s, false, e);
    if (result != AVRR_OK)
        return result;
    res = PQexec(s->conn, sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
        result = pg_error(s, res, NULL, what, e);
        PQclear(res);
        /* Not in COPY state: nothing more to read than this result. */
        while ((res = PQgetResult(s->conn)) != NULL)
            PQclear(res);
        return result;
    }
    PQclear(res);
    for (size_t off = 0; off < b->n;) {
        size_t chunk = b->n - off < (1u << 20) ? b->n - off : (1u << 20);
        if (PQputCopyData(s->conn, b->p + off, (int)chunk) != 1) {
            (void)PQputCopyEnd(s->conn, "avrr: sending rows failed");
            result = pg_error(s, NULL, NULL, what, e);
            break;
        }
        off += chunk;
    }
    if (result == AVRR_OK && PQputCopyEnd(s->conn, NULL) != 1)
        result = pg_error(s, NULL, NULL, what, e);
    while ((res = PQgetResult(s->conn)) != NULL) {
        if (result == AVRR_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
            result = pg_error(s, res, NULL, what, e);
        PQclear(res);
    }
    return result;
}

/* n new values of a serial sequence (SEQ_PERSONS, SEQ_IDENTITIES). */
static avrr_err take_ids(pg_store *s, enum stmt_id id, size_t n,
                         int64_t *out, avrr_error *e)
{
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    p_int(&p, (int64_t)n);
    result = pq_run(s, id, &p, &res, NULL, "taking ids", e);
    if (result == AVRR_OK && (size_t)PQntuples(res) != n)
        result = corrupt(s, "id sequence", e);
    for (size_t i = 0; result == AVRR_OK && i < n; i++)
        out[i] = col_int(res, (int)i, 0);
    PQclear(res);
    return result;
}

/* A block of n ids of a serial sequence (SEQ_BLOCK_*): first .. first + n - 1. */
static avrr_err take_id_block(pg_store *s, enum stmt_id id, size_t n,
                              int64_t *first, avrr_error *e)
{
    pq_params p = {0};
    int64_t last = 0;
    avrr_err result;

    p_int(&p, (int64_t)n);
    result = query_int(s, id, &p, &last, "taking ids", e);
    if (result == AVRR_OK)
        *first = last - (int64_t)n + 1;
    return result;
}

/* person_insert for many persons at once: ids from the sequences in one
 * round trip each, then one COPY per table. All or nothing. During a bulk
 * load (bulk_deferred) the ids come in blocks, one step per sequence
 * whatever n (a nextval per id took a twelfth of the server's time of an
 * import), documents' ids too (their default took one per row). */
static avrr_err pgs_person_insert_many(avrr_store *base, avrr_person **ps,
                                       size_t n, avrr_error *e)
{
    pg_store *s = pg(base);
    int64_t now = now_seconds();
    int64_t *pid = NULL, *iid = NULL, d0 = 0;
    size_t ni = 0, nd = 0, k = 0;
    copy_buf bp = {0}, bi = {0}, bd = {0};
    write_scope w;
    avrr_err result;

    if (n == 0)
        return AVRR_OK;
    for (size_t i = 0; i < n; i++)
        ni += ps[i]->n_identities;
    pid = avrr_calloc(n, sizeof *pid);
    iid = avrr_calloc(ni ? ni : 1, sizeof *iid);
    if (pid == NULL || iid == NULL) {
        avrr_free(pid);
        avrr_free(iid);
        return no_memory(e);
    }
    result = scope_begin(s, &w, true, e);
    if (result != AVRR_OK)
        goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ps[i]->n_identities; j++)
            nd += ps[i]->identities[j].n_documents;
    if (s->bulk_deferred) {
        int64_t p0 = 0, i0 = 0;
        result = take_id_block(s, ST_SEQ_BLOCK_PERSONS, n, &p0, e);
        if (result == AVRR_OK && ni > 0)
            result = take_id_block(s, ST_SEQ_BLOCK_IDENTITIES, ni, &i0, e);
        if (result == AVRR_OK && nd > 0)
            result = take_id_block(s, ST_SEQ_BLOCK_DOCUMENTS, nd, &d0, e);
        for (size_t i = 0; i < n; i++)
            pid[i] = p0 + (int64_t)i;
        for (size_t i = 0; i < ni; i++)
            iid[i] = i0 + (int64_t)i;
    } else {
        result = pipe_send(s, ST_BULK_ROW_LOCK, NULL, NULL, "locking the person tables", e);
        if (result == AVRR_OK)
            result = take_ids(s, ST_SEQ_PERSONS, n, pid, e);
        if (result == AVRR_OK && ni > 0)
            result = take_ids(s, ST_SEQ_IDENTITIES, ni, iid, e);
    }
    for (size_t i = 0; result == AVRR_OK && i < n; i++) {
        const avrr_person *p = ps[i];
        char tenant[sizeof p->tenant + 1];
        cb_int(&bp, true, pid[i]);
        cb_text(&bp, false, fixed_text(p->tenant, sizeof p->tenant, tenant));
        cb_int(&bp, false, p->restricted ? 1 : 0);
        cb_int(&bp, false, now);
        cb_end(&bp);
        for (size_t j = 0; result == AVRR_OK && j < p->n_identities; j++) {
            const avrr_identity *id = &p->identities[j];
            const char *sex = avrr_sex_name((int)id->sex);
            char birth[11];
            if (sex == NULL) {
                result = avrr_error_set(e, AVRR_EINVALID, "sex", "unknown sex");
                break;
            }
            avrr_date_format(&id->birth_date, birth);
            cb_int(&bi, true, iid[k]);
            cb_int(&bi, false, pid[i]);
            cb_text(&bi, false, id->given_names);
            cb_text(&bi, false, id->surname);
            cb_text(&bi, false, id->full_name);
            cb_text(&bi, false, sex);
            cb_text(&bi, false, birth);
            cb_int(&bi, false, id->birth_date.precision);
            cb_int(&bi, false, id->birth_date.placeholder ? 1 : 0);
            cb_text(&bi, false, id->nationality);
            cb_text(&bi, false, id->birth_place);
            cb_text(&bi, false, id->address);
            cb_text(&bi, false, id->national_ref);
            cb_text(&bi, false, id->eurodac_ref);
            cb_int(&bi, false, now);
            cb_end(&bi);
            for (size_t d = 0; d < id->n_documents; d++) {
                const avrr_document *doc = &id->documents[d];
                /* Ids of a block, or else the column's default. */
                if (s->bulk_deferred)
                    cb_int(&bd, true, d0++);
                cb_int(&bd, !s->bulk_deferred, iid[k]);
                cb_text(&bd, false, doc->type);
                cb_text(&bd, false, doc->number);
                cb_text(&bd, false, doc->country);
                cb_end(&bd);
            }
            k++;
        }
    }
    if (result == AVRR_OK)
        result = copy_run(s, "COPY persons (id, tenant, restricted, created_at) "
                             "FROM STDIN", &bp, "person", e);
    if (result == AVRR_OK && bi.n > 0)
        result = copy_run(s, "COPY identities (id, person_id, given_names, "
                             "surname, full_name, sex, birth_date, "
                             "birth_precision, birth_placeholder, nationality, "
                             "birth_place, address, national_ref, eurodac_ref, "
                             "created_at) FROM STDIN", &bi, "identity", e);
    if (result == AVRR_OK && bd.n > 0)
        result = copy_run(s, s->bulk_deferred
                                 ? "COPY documents (id, identity_id, type, "
                                   "number, country) FROM STDIN"
                                 : "COPY documents (identity_id, type, number, "
                                   "country) FROM STDIN",
                          &bd, "document", e);
    result = scope_end(s, &w, result, e);
    if (result == AVRR_OK) {
        k = 0;
        for (size_t i = 0; i < n; i++) {
            ps[i]->id = pid[i];
            ps[i]->created_at = now;
            for (size_t j = 0; j < ps[i]->n_identities; j++, k++) {
                ps[i]->identities[j].id = iid[k];
                ps[i]->identities[j].person_id = pid[i];
                ps[i]->identities[j].created_at = now;
            }
        }
    }
done:
    avrr_free(bp.p);
    avrr_free(bi.p);
    avrr_free(bd.p);
    avrr_free(pid);
    avrr_free(iid);
    return result;
}

/* ---- bulk loads (avrr import) ------------------------------------------------ */

/* A load of fewer persons than this is stored as any other: its per-row
 * costs are small, and it takes no table locks beyond the audit log's. */
#define BULK_MIN_ROWS 10000

/* The foreign keys of the person tables are checked once after a load,
 * one join per key over the whole tables, instead of by a query per row
 * (a third of the server's time of a load), when the registry holds at most
 * BULK_FACTOR times the persons of the load: at 250,000 rows into 750,000
 * the server spent 4.3 s against 6.2 s the per-row way (docs/BENCHMARKS.md,
 * "Storage backends"). */
#define BULK_FACTOR 4

/* The secondary indexes are also dropped and built anew after the load
 * (one sort each) when the load is at least BULK_INDEX_FACTOR times the
 * registry: into an empty registry that cost 2.6 s against 3.4 s for the
 * per-row index entries, but into a registry as big as the load the sorts
 * over the whole tables already cost more (3.5 s against 3.3 s), and their
 * cost grows with the registry while the entries' does not (the new keys
 * all land at the end of their range: ids are increasing). */
#define BULK_INDEX_FACTOR 2

/* What pg_restore does: the load's tables keep their primary keys (and
 * CHECK and NOT NULL constraints); the foreign keys of the person tables
 * (BULK_DEFER_KEYS) and, for a load into a small registry, the other
 * indexes (BULK_DEFER_INDEXES) go for the load and come back (BULK_RESTORE_*)
 * in the same transaction, the keys validated by one query each. The ALTER
 * TABLEs lock persons, identities, documents and tenants (the referenced
 * side of persons_tenant_fkey), DROP INDEX audit_events, in ACCESS
 * EXCLUSIVE mode until COMMIT: other connections' reads of these tables
 * wait for the load (writers wait for its audit lock in any case). Rolled
 * back, the schema is as before. The names are migration 1's. */
static const char BULK_DEFER_KEYS[] =
    "ALTER TABLE documents DROP CONSTRAINT documents_identity_id_fkey;\n"
    "ALTER TABLE identities DROP CONSTRAINT identities_person_id_fkey;\n"
    "ALTER TABLE persons DROP CONSTRAINT persons_tenant_fkey;\n";

static const char BULK_DEFER_INDEXES[] =
    "DROP INDEX persons_tenant;\n"
    "DROP INDEX identities_person;\n"
    "DROP INDEX documents_identity;\n"
    "DROP INDEX audit_events_tenant;\n";

/* Memory for the index sorts and the validating joins, for this
 * transaction only. */
static const char BULK_RESTORE_INDEXES[] =
    "SET LOCAL maintenance_work_mem = '256MB';\n"
    "CREATE INDEX persons_tenant ON persons(tenant, id);\n"
    "CREATE INDEX identities_person ON identities(person_id, id);\n"
    "CREATE INDEX documents_identity ON documents(identity_id, id);\n"
    "CREATE INDEX audit_events_tenant ON audit_events(tenant, seq);\n";

/* The check of identities -> persons as a merge join of the two indexes
 * in key order (identities_person, persons_pkey): the planner's hash join
 * took three times as long (0.6 s against 1.5 to 2.0 s at 1,000,000 rows,
 * on a copy of the registry with its statistics). The other two keep the
 * planner's choice, a hash join (documents: 1.2 s against 1.4 s merged).
 * RESET: the session had no setting of its own (SET LOCAL until then). */
static const char BULK_RESTORE_KEYS[] =
    "SET LOCAL work_mem = '64MB';\n"
    "ALTER TABLE persons ADD CONSTRAINT persons_tenant_fkey\n"
    "  FOREIGN KEY (tenant) REFERENCES tenants(code);\n"
    "SET LOCAL enable_hashjoin = off;\n"
    "ALTER TABLE identities ADD CONSTRAINT identities_person_id_fkey\n"
    "  FOREIGN KEY (person_id) REFERENCES persons(id) ON DELETE CASCADE;\n"
    "RESET enable_hashjoin;\n"
    "ALTER TABLE documents ADD CONSTRAINT documents_identity_id_fkey\n"
    "  FOREIGN KEY (identity_id) REFERENCES identities(id) ON DELETE CASCADE;\n";

/* After a load that at least tripled the tables (the indexes were built
 * anew): planner statistics now, not at autovacuum's next visit (a plan
 * made from the statistics of the nearly empty tables would stay cached
 * in servers' prepared statements), of the columns that statements look
 * rows up by (the others cost most of the time of a whole-table ANALYZE).
 * Table sizes are updated by the index builds. After a smaller load the
 * statistics still describe the tables' shape, and autovacuum analyzes
 * them in its time (after the COMMIT, not holding the load up). */
static const char BULK_ANALYZE[] =
    "ANALYZE persons (id, tenant), identities (id, person_id),\n"
    "  documents (identity_id), audit_events (seq, tenant);\n";

/* Runs a constant DDL script of several statements (simple query
 * protocol; nothing in it comes from input). */
static avrr_err run_script(pg_store *s, const char *sql, const char *what,
                           avrr_error *e)
{
    PGresult *res;
    avrr_err result = pipe_flush(s, false, e);

    if (result != AVRR_OK)
        return result;
    res = PQexec(s->conn, sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
        result = pg_error(s, res, NULL, what, e);
    PQclear(res);
    /* A script's later statements have results of their own. */
    while ((res = PQgetResult(s->conn)) != NULL)
        PQclear(res);
    return result;
}

static avrr_err pgs_bulk_begin(avrr_store *base, int64_t rows, avrr_error *e)
{
    pg_store *s = pg(base);
    int64_t have = 0;
    avrr_err result;

    s->bulk_deferred = s->bulk_indexes = false;
    if (tx_status(s) != PQTRANS_INTRANS)
        return avrr_error_set(e, AVRR_EINVALID, NULL,
                              "a bulk load needs a transaction");
    if (rows < BULK_MIN_ROWS)
        return AVRR_OK;
    result = query_int(s, ST_BULK_PERSONS, NULL, &have, "counting persons", e);
    if (result != AVRR_OK || have > rows * BULK_FACTOR)
        return result;
    result = run_script(s, BULK_DEFER_KEYS, "preparing the bulk load", e);
    if (result != AVRR_OK)
        return result;
    s->bulk_deferred = true;
    if (have * BULK_INDEX_FACTOR <= rows) {
        result = run_script(s, BULK_DEFER_INDEXES, "preparing the bulk load", e);
        s->bulk_indexes = result == AVRR_OK;
    }
    return result;
}

static avrr_err pgs_bulk_end(avrr_store *base, avrr_error *e)
{
    pg_store *s = pg(base);
    avrr_err result = AVRR_OK;

    if (s->bulk_indexes)
        result = run_script(s, BULK_RESTORE_INDEXES,
                            "building the indexes after the bulk load", e);
    if (result == AVRR_OK && s->bulk_deferred)
        result = run_script(s, BULK_RESTORE_KEYS,
                            "checking the foreign keys after the bulk load", e);
    if (result == AVRR_OK && s->bulk_indexes)
        result = run_script(s, BULK_ANALYZE, "analyzing the loaded tables", e);
    s->bulk_deferred = s->bulk_indexes = false;
    return result;
}

static avrr_err pgs_identity_insert(avrr_store *base, const char *tenant,
                                    avrr_identity *id, avrr_error *e)
{
    pg_store *s = pg(base);
    write_scope w;
    bool owned = false;
    avrr_err result = scope_begin(s, &w, true, e);

    if (result != AVRR_OK)
        return result;
    result = owned_by(s, ST_PERSON_OWNED, id->person_id, tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "person_id",
                                "no person %lld", (long long)id->person_id);
    if (result == AVRR_OK)
        result = insert_identity(s, id->person_id, id, now_seconds(), e);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK) {
        id->id = 0;
        id->created_at = 0;
    }
    return result;
}

/* Reads an identity row (IDENTITY_COLS) into a zeroed *id. */
static avrr_err read_identity(pg_store *s, const PGresult *r, int row,
                              avrr_identity *id, avrr_error *e)
{
    int sex = 0;
    avrr_err result;

    id->id = col_int(r, row, 0);
    id->person_id = col_int(r, row, 1);
    result = col_str(r, row, 2, &id->given_names, e);
    if (result == AVRR_OK)
        result = col_str(r, row, 3, &id->surname, e);
    if (result == AVRR_OK)
        result = col_str(r, row, 4, &id->full_name, e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 5, avrr_sex_parse, &sex, "sex", e);
    id->sex = (avrr_sex)sex;
    if (result == AVRR_OK)
        result = col_date(s, r, row, 6, &id->birth_date, "birth date", e);
    if (result == AVRR_OK) {
        /* The text cannot say "1990-00-00" apart from "1990". */
        id->birth_date.precision = (uint8_t)col_int(r, row, 7);
        id->birth_date.placeholder = col_int(r, row, 8) != 0;
        result = col_fixed(s, r, row, 9, id->nationality,
                           sizeof id->nationality, "nationality", e);
    }
    if (result == AVRR_OK)
        result = col_str(r, row, 10, &id->birth_place, e);
    if (result == AVRR_OK)
        result = col_str(r, row, 11, &id->address, e);
    if (result == AVRR_OK)
        result = col_str(r, row, 12, &id->national_ref, e);
    if (result == AVRR_OK)
        result = col_str(r, row, 13, &id->eurodac_ref, e);
    id->created_at = col_int(r, row, 14);
    return result;
}

/* Appends the document of row `row` (identity_id, type, number, country) to
 * id->documents. */
static avrr_err add_document(pg_store *s, const PGresult *r, int row,
                             avrr_identity *id, size_t *cap, avrr_error *e)
{
    avrr_document *p = grow(id->documents, cap, id->n_documents + 1,
                            sizeof *p);
    avrr_document *d;
    avrr_err result;

    if (p == NULL)
        return no_memory(e);
    id->documents = p;
    d = &id->documents[id->n_documents++];
    result = col_str(r, row, 1, &d->type, e);
    if (result == AVRR_OK)
        result = col_str(r, row, 2, &d->number, e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 3, d->country, sizeof d->country,
                           "document country", e);
    return result;
}

/* Distributes document rows (ordered by identity_id) over identities
 * ordered by id. */
static avrr_err spread_documents(pg_store *s, const PGresult *r,
                                 avrr_identity **ids, size_t n,
                                 avrr_error *e)
{
    size_t k = 0, cap = 0;
    avrr_err result = AVRR_OK;

    for (int row = 0; result == AVRR_OK && row < PQntuples(r); row++) {
        int64_t owner = col_int(r, row, 0);
        while (k < n && ids[k]->id < owner) {
            k++;
            cap = 0;
        }
        if (k == n || ids[k]->id != owner)
            continue; /* an identity added after our read: skip */
        if (ids[k]->n_documents == 0)
            cap = 0;
        result = add_document(s, r, row, ids[k], &cap, e);
    }
    return result;
}

/* Fills p->identities (with documents) of a person read without them: two
 * queries whatever the number of identities. */
static avrr_err load_identities(pg_store *s, avrr_person *p, avrr_error *e)
{
    PGresult *res = NULL;
    avrr_identity **ptrs = NULL;
    pq_params pp = {0};
    avrr_err result;

    p_int(&pp, p->id);
    result = pq_run(s, ST_IDENTITIES_OF, &pp, &res, NULL,
                    "reading identities", e);
    if (result != AVRR_OK)
        goto out;
    if (PQntuples(res) == 0)
        goto out;
    p->identities = new_array((size_t)PQntuples(res), sizeof *p->identities);
    if (p->identities == NULL) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++)
        result = read_identity(s, res, i, &p->identities[p->n_identities++],
                               e);
    PQclear(res);
    res = NULL;
    if (result != AVRR_OK)
        goto out;
    ptrs = new_array(p->n_identities, sizeof *ptrs);
    if (ptrs == NULL) {
        result = no_memory(e);
        goto out;
    }
    for (size_t i = 0; i < p->n_identities; i++)
        ptrs[i] = &p->identities[i];
    result = pq_run(s, ST_DOCUMENTS_OF_PERSON, &pp, &res, NULL,
                    "reading documents", e);
    if (result == AVRR_OK)
        result = spread_documents(s, res, ptrs, p->n_identities, e);
out:
    PQclear(res);
    avrr_free(ptrs);
    return result;
}

static avrr_err read_person(pg_store *s, const PGresult *r, int row,
                            avrr_person *p, avrr_error *e)
{
    p->id = col_int(r, row, 0);
    p->restricted = col_int(r, row, 2) != 0;
    p->created_at = col_int(r, row, 3);
    p->erased_at = col_int(r, row, 4); /* NULL: 0 */
    return col_fixed(s, r, row, 1, p->tenant, sizeof p->tenant, "tenant", e);
}

/* person_get (tenant given) and person_get_any (tenant NULL). */
static avrr_err get_person(pg_store *s, const char *tenant, int64_t id,
                           avrr_person *out, avrr_error *e)
{
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    memset(out, 0, sizeof *out);
    p_int(&p, id);
    if (tenant != NULL)
        p_text(&p, tenant);
    result = pq_run(s, tenant != NULL ? ST_PERSON_GET : ST_PERSON_GET_ANY, &p,
                    &res, NULL, "reading the person", e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no person %lld",
                                (long long)id);
    if (result == AVRR_OK)
        result = read_person(s, res, 0, out, e);
    PQclear(res);
    if (result == AVRR_OK)
        result = load_identities(s, out, e);
    if (result != AVRR_OK)
        avrr_person_clear(out);
    return result;
}

static avrr_err pgs_person_get(avrr_store *base, const char *tenant,
                               int64_t id, avrr_person *out, avrr_error *e)
{
    /* NULL must not turn into "any tenant" here. */
    return get_person(pg(base), tenant != NULL ? tenant : "", id, out, e);
}

static avrr_err pgs_person_get_any(avrr_store *base, int64_t id,
                                   avrr_person *out, avrr_error *e)
{
    return get_person(pg(base), NULL, id, out, e);
}

static avrr_err pgs_person_list(avrr_store *base, const char *tenant,
                                int64_t after, size_t limit,
                                avrr_person **out, size_t *n, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    avrr_person *arr = NULL;
    pq_params p = {0};
    size_t len = 0;
    avrr_err result;

    *out = NULL;
    *n = 0;
    p_text(&p, tenant != NULL ? tenant : "");
    p_int(&p, after);
    p_int(&p, (int64_t)clamp_limit(limit));
    result = pq_run(s, ST_PERSON_LIST, &p, &res, NULL, "listing persons", e);
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++)
        result = read_person(s, res, i, &arr[len++], e);
    PQclear(res);
    res = NULL;
    for (size_t i = 0; result == AVRR_OK && i < len; i++)
        result = load_identities(s, &arr[i], e);
out:
    PQclear(res);
    if (result != AVRR_OK) {
        avrr_store_free_persons(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

/* ---- cases ------------------------------------------------------------------------ */

static avrr_err pgs_case_insert(avrr_store *base, avrr_case *c, avrr_error *e)
{
    pg_store *s = pg(base);
    const char *rtype = avrr_return_type_name((int)c->return_type);
    const char *status = avrr_case_status_name((int)c->status);
    char opened[11], closed[11];
    int64_t now = now_seconds();
    bool owned = false;
    pq_params p = {0};
    write_scope w;
    avrr_err result;

    if (rtype == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "return_type",
                              "unknown return type");
    if (status == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "unknown case status");
    avrr_date_format(&c->opened_on, opened);
    avrr_date_format(&c->closed_on, closed);
    result = scope_begin(s, &w, true, e);
    if (result != AVRR_OK)
        return result;
    result = owned_by(s, ST_PERSON_OWNED, c->person_id, c->tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "person_id",
                                "no person %lld", (long long)c->person_id);
    if (result != AVRR_OK)
        goto out;
    p_text(&p, c->tenant);
    p_int(&p, c->person_id);
    p_text(&p, c->destination_country);
    p_text(&p, rtype);
    p_text(&p, c->programme);
    p_text(&p, status);
    p_text(&p, opened);
    p_text(&p, closed);
    p_int(&p, now);
    p_int(&p, c->adults);
    p_int(&p, c->minors);
    result = insert_id(s, ST_CASE_INSERT, &p, &c->id, NULL, "case", e);
    if (result == AVRR_OK) {
        c->created_at = now;
        c->updated_at = now;
    }
out:
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK) {
        c->id = 0;
        c->created_at = 0;
        c->updated_at = 0;
    }
    return result;
}

static avrr_err read_case(pg_store *s, const PGresult *r, int row,
                          avrr_case *c, avrr_error *e)
{
    int rtype = 0, status = 0;
    avrr_err result;

    c->id = col_int(r, row, 0);
    c->person_id = col_int(r, row, 1);
    c->created_at = col_int(r, row, 9);
    c->updated_at = col_int(r, row, 10);
    c->adults = (int32_t)col_int(r, row, 11);
    c->minors = (int32_t)col_int(r, row, 12);
    result = col_fixed(s, r, row, 2, c->tenant, sizeof c->tenant, "tenant",
                       e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 3, c->destination_country,
                           sizeof c->destination_country,
                           "destination country", e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 4, avrr_return_type_parse, &rtype,
                          "return type", e);
    if (result == AVRR_OK)
        result = col_str(r, row, 5, &c->programme, e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 6, avrr_case_status_parse, &status,
                          "case status", e);
    if (result == AVRR_OK)
        result = col_date(s, r, row, 7, &c->opened_on, "opening date", e);
    if (result == AVRR_OK)
        result = col_date(s, r, row, 8, &c->closed_on, "closing date", e);
    c->return_type = (avrr_return_type)rtype;
    c->status = (avrr_case_status)status;
    return result;
}

static avrr_err pgs_case_get(avrr_store *base, const char *tenant, int64_t id,
                             avrr_case *out, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    memset(out, 0, sizeof *out);
    p_int(&p, id);
    p_text(&p, tenant != NULL ? tenant : "");
    result = pq_run(s, ST_CASE_GET, &p, &res, NULL, "reading the case", e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no case %lld",
                                (long long)id);
    if (result == AVRR_OK)
        result = read_case(s, res, 0, out, e);
    PQclear(res);
    if (result != AVRR_OK)
        avrr_case_clear(out);
    return result;
}

static avrr_err pgs_case_list(avrr_store *base, const char *tenant,
                              int64_t person_id, int64_t after, size_t limit,
                              avrr_case **out, size_t *n, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    avrr_case *arr = NULL;
    pq_params p = {0};
    size_t len = 0;
    avrr_err result;

    *out = NULL;
    *n = 0;
    p_text(&p, tenant != NULL ? tenant : "");
    p_int(&p, after);
    p_int(&p, (int64_t)clamp_limit(limit));
    if (person_id > 0)
        p_int(&p, person_id);
    result = pq_run(s, person_id > 0 ? ST_CASE_LIST_PERSON : ST_CASE_LIST, &p,
                    &res, NULL, "listing cases", e);
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++)
        result = read_case(s, res, i, &arr[len++], e);
out:
    PQclear(res);
    if (result != AVRR_OK) {
        avrr_store_free_cases(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err pgs_case_update(avrr_store *base, avrr_case *c,
                                avrr_error *e)
{
    const char *status = avrr_case_status_name((int)c->status);
    char closed[11];
    int64_t now = now_seconds(), changed = 0;
    pq_params p = {0};
    avrr_err result;

    if (status == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "unknown case status");
    avrr_date_format(&c->closed_on, closed);
    p_int(&p, c->id);
    p_text(&p, c->tenant);
    p_text(&p, status);
    p_text(&p, closed);
    p_int(&p, now);
    result = write1(pg(base), ST_CASE_UPDATE, &p, &changed, NULL, NULL,
                    "case", e);
    if (result == AVRR_OK && changed == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no case %lld",
                                (long long)c->id);
    if (result == AVRR_OK)
        c->updated_at = now;
    return result;
}

/* ---- assistance ----------------------------------------------------------------------- */

static avrr_err pgs_assistance_insert(avrr_store *base, avrr_assistance *a,
                                      avrr_error *e)
{
    pg_store *s = pg(base);
    const char *kind = avrr_assistance_kind_name((int)a->kind);
    const char *funding = avrr_funding_name((int)a->funding);
    const char *status = avrr_assistance_status_name((int)a->status);
    char granted[11], delivered[11];
    int64_t now = now_seconds();
    bool owned = false;
    pq_params p = {0};
    write_scope w;
    avrr_err result;

    if (kind == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "kind",
                              "unknown assistance kind");
    if (funding == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "funding",
                              "unknown funding instrument");
    if (status == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "unknown assistance status");
    avrr_date_format(&a->granted_on, granted);
    avrr_date_format(&a->delivered_on, delivered);
    result = scope_begin(s, &w, true, e);
    if (result != AVRR_OK)
        return result;
    result = owned_by(s, ST_CASE_OWNED, a->case_id, a->tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "case_id", "no case %lld",
                                (long long)a->case_id);
    if (result != AVRR_OK)
        goto out;
    p_text(&p, a->tenant);
    p_int(&p, a->case_id);
    p_text(&p, kind);
    p_int(&p, a->amount_cents);
    p_int(&p, a->cash ? 1 : 0);
    p_text(&p, a->provider);
    p_text(&p, funding);
    p_text(&p, granted);
    p_text(&p, delivered);
    p_text(&p, status);
    p_int(&p, now);
    result = insert_id(s, ST_ASSIST_INSERT, &p, &a->id, NULL, "assistance",
                       e);
    if (result == AVRR_OK)
        a->created_at = now;
out:
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK) {
        a->id = 0;
        a->created_at = 0;
    }
    return result;
}

static avrr_err read_assistance(pg_store *s, const PGresult *r, int row,
                                avrr_assistance *a, avrr_error *e)
{
    int kind = 0, funding = 0, status = 0;
    avrr_err result;

    a->id = col_int(r, row, 0);
    a->case_id = col_int(r, row, 1);
    a->amount_cents = col_int(r, row, 4);
    a->cash = col_int(r, row, 5) != 0;
    a->created_at = col_int(r, row, 11);
    result = col_fixed(s, r, row, 2, a->tenant, sizeof a->tenant, "tenant",
                       e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 3, avrr_assistance_kind_parse, &kind,
                          "assistance kind", e);
    if (result == AVRR_OK)
        result = col_str(r, row, 6, &a->provider, e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 7, avrr_funding_parse, &funding,
                          "funding", e);
    if (result == AVRR_OK)
        result = col_date(s, r, row, 8, &a->granted_on, "grant date", e);
    if (result == AVRR_OK)
        result = col_date(s, r, row, 9, &a->delivered_on, "delivery date", e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 10, avrr_assistance_status_parse,
                          &status, "assistance status", e);
    a->kind = (avrr_assistance_kind)kind;
    a->funding = (avrr_funding)funding;
    a->status = (avrr_assistance_status)status;
    return result;
}

/* Runs an assistance query ($1 = a case or person id); with_programme: the
 * rows carry the case's programme in column 12. */
static avrr_err list_assistance(pg_store *s, enum stmt_id id, int64_t key,
                                bool with_programme, avrr_assistance **out,
                                size_t *n, avrr_error *e)
{
    PGresult *res = NULL;
    avrr_assistance *arr = NULL;
    pq_params p = {0};
    size_t len = 0;
    avrr_err result;

    p_int(&p, key);
    result = pq_run(s, id, &p, &res, NULL, "listing assistance", e);
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++) {
        result = read_assistance(s, res, i, &arr[len++], e);
        if (result == AVRR_OK && with_programme)
            result = col_str(res, i, 12, &arr[len - 1].programme, e);
    }
out:
    PQclear(res);
    if (result != AVRR_OK) {
        avrr_store_free_assistance(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err pgs_assistance_list(avrr_store *base, const char *tenant,
                                    int64_t case_id, avrr_assistance **out,
                                    size_t *n, avrr_error *e)
{
    pg_store *s = pg(base);
    bool owned = false;
    avrr_err result;

    *out = NULL;
    *n = 0;
    result = owned_by(s, ST_CASE_OWNED, case_id, tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "case_id", "no case %lld",
                                (long long)case_id);
    if (result != AVRR_OK)
        return result;
    /* The case is the tenant's (checked above), so are its grants. */
    return list_assistance(s, ST_ASSIST_LIST, case_id, false, out, n, e);
}

static avrr_err pgs_person_assistance(avrr_store *base, int64_t person_id,
                                      avrr_assistance **out, size_t *n,
                                      avrr_error *e)
{
    *out = NULL;
    *n = 0;
    return list_assistance(pg(base), ST_ASSIST_OF_PERSON, person_id, true,
                           out, n, e);
}

/* ---- checks ------------------------------------------------------------- */

/* Links sent pipelined are read in runs of this many (link_insert_many). */
#define HITS_PER_READ (PIPE_MAX / 2)

/* The parameters of LINK_INSERT and LINK_INSERT_CHECK: the link l of the
 * check check_id (0: none, or the check sent just before), made at now. */
static void link_params(pq_params *p, const avrr_link *l, int64_t check_id, int64_t now)
{
    p_ref(p, l->person_a);
    p_text(p, l->tenant_a);
    p_int(p, l->person_b);
    p_text(p, l->tenant_b);
    p_ref(p, check_id);
    p_text(p, l->source);
    p_text(p, avrr_link_status_name((int)l->status));
    p_double(p, l->probability);
    p_text(p, l->reason);
    p_int(p, now);
}

/* Array literals for HITS_INSERT: '{...}' with each text element quoted
 * (a double quote and a backslash escaped), NUL-terminated. */
static void arr_sep(copy_buf *b, size_t i)
{
    cb_put(b, i == 0 ? "{" : ",", 1);
}

static void arr_text(copy_buf *b, size_t i, const char *v)
{
    arr_sep(b, i);
    cb_put(b, "\"", 1);
    for (const char *run = v;; v++) {
        if (*v != '"' && *v != '\\' && *v != '\0')
            continue;
        cb_put(b, run, (size_t)(v - run));
        if (*v == '\0')
            break;
        cb_put(b, "\\", 1);
        run = v; /* the character itself follows its backslash */
    }
    cb_put(b, "\"", 1);
}

static void arr_end(copy_buf *b, size_t n)
{
    if (n == 0)
        cb_put(b, "{", 1);
    cb_put(b, "}", 2); /* with the NUL */
}

/* Sends the hits of the check just sent pipelined, in one statement; the
 * caller reads its result (pipe_flush, own). What the table's CHECKs
 * would refuse is refused here first, naming its hit. */
static avrr_err insert_hits(pg_store *s, const avrr_check *c, avrr_error *e)
{
    copy_buf col[5] = {{0}};
    pq_params p = {0};
    avrr_err result = AVRR_OK;

    if (c->n_hits == 0)
        return AVRR_OK;
    for (size_t i = 0; result == AVRR_OK && i < c->n_hits; i++) {
        const avrr_check_hit *h = &c->hits[i];
        const char *band = avrr_band_name((int)h->band);
        size_t ref_len = strnlen(h->person_ref, sizeof h->person_ref);
        char num[32];

        if (band == NULL)
            result = avrr_error_set(e, AVRR_EINVALID, "band", "unknown band");
        else if (!(h->probability >= 0 && h->probability <= 1))
            result = avrr_error_set(e, AVRR_EINVALID, NULL,
                                    "a probability is between 0 and 1");
        else if (ref_len < 1 || ref_len > 32)
            result = avrr_error_set(e, AVRR_EINVALID, NULL,
                                    "a person reference has 1 to 32 "
                                    "characters");
        if (result != AVRR_OK) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "hits[%zu]", i);
            avrr_error_prefix_field(e, prefix);
            break;
        }
        char tenant[sizeof h->tenant + 1], ref[sizeof h->person_ref + 1];
        arr_sep(&col[0], i);
        snprintf(num, sizeof num, "%lld", (long long)h->person_id);
        cb_put(&col[0], num, strlen(num));
        arr_text(&col[1], i, fixed_text(h->tenant, sizeof h->tenant, tenant));
        arr_text(&col[2], i,
                 fixed_text(h->person_ref, sizeof h->person_ref, ref));
        arr_sep(&col[3], i);
        /* 17 significant digits: the double reads back exactly. */
        snprintf(num, sizeof num, "%.17g", h->probability);
        cb_put(&col[3], num, strlen(num));
        arr_text(&col[4], i, band);
    }
    for (size_t k = 0; k < 5; k++) {
        arr_end(&col[k], c->n_hits);
        if (col[k].oom && result == AVRR_OK)
            result = no_memory(e);
        p_text(&p, col[k].p);
    }
    /* Pipelined: the hits ride with the next statement. libpq copies the
     * parameters when it sends. */
    if (result == AVRR_OK)
        result = pipe_send(s, ST_HITS_INSERT, &p, "hits", "check hits", e);
    for (size_t k = 0; k < 5; k++)
        avrr_free(col[k].p);
    return result;
}

/* The parameters of CHECK_INSERT: the check c for purpose, made at now. */
static void check_params(pq_params *p, const avrr_check *c, const char *purpose, int64_t now)
{
    p_text(p, c->tenant);
    p_ref(p, c->key_id);
    p_text(p, purpose);
    p_ref(p, c->person_id);
    p_text(p, c->request_json);
    p_text(p, c->response_json);
    p_int(p, now);
}

static avrr_err pgs_check_insert(avrr_store *base, avrr_check *c,
                                 avrr_error *e)
{
    pg_store *s = pg(base);
    const char *purpose = avrr_purpose_name((int)c->purpose);
    int64_t now = now_seconds();
    bool owned = true;
    PGresult *res = NULL;
    pq_params p = {0};
    write_scope w;
    avrr_err result;

    if (purpose == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "purpose", "unknown purpose");
    result = scope_begin(s, &w, true, e);
    if (result != AVRR_OK)
        return result;
    /* The requester's own person, when given, must be the requester's. */
    if (c->person_id > 0)
        result = owned_by(s, ST_PERSON_OWNED, c->person_id, c->tenant,
                          &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "person_id",
                                "no person %lld", (long long)c->person_id);
    if (result != AVRR_OK)
        goto out;
    check_params(&p, c, purpose, now);
    /* The check and its hits in one round trip; their errors are this
     * call's to report, with the savepoint still there to undo them. */
    result = pipe_send_into(s, ST_CHECK_INSERT, &p, "tenant", "check", &res,
                            e);
    if (result == AVRR_OK)
        result = insert_hits(s, c, e);
    if (result == AVRR_OK)
        result = pipe_flush(s, true, e);
    if (result == AVRR_OK && (res == NULL || PQntuples(res) != 1))
        result = avrr_error_set(e, AVRR_EDB, NULL, "check: no id returned");
    if (result == AVRR_OK) {
        c->id = col_int(res, 0, 0);
        c->created_at = now;
    }
out:
    /* scope_end reads what is still pending, the check's result too. */
    result = scope_end(s, &w, result, e);
    PQclear(res);
    if (result != AVRR_OK) {
        c->id = 0;
        c->created_at = 0;
    }
    return result;
}

static avrr_err load_hits(pg_store *s, avrr_check *c, avrr_error *e)
{
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    p_int(&p, c->id);
    result = pq_run(s, ST_HITS_OF, &p, &res, NULL, "reading check hits", e);
    if (result != AVRR_OK || PQntuples(res) == 0)
        goto out;
    c->hits = new_array((size_t)PQntuples(res), sizeof *c->hits);
    if (c->hits == NULL) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++) {
        avrr_check_hit *h = &c->hits[c->n_hits++];
        int band = 0;

        h->person_id = col_int(res, i, 0);
        h->probability = col_double(res, i, 3);
        result = col_fixed(s, res, i, 1, h->tenant, sizeof h->tenant,
                           "hit tenant", e);
        if (result == AVRR_OK)
            result = col_fixed(s, res, i, 2, h->person_ref,
                               sizeof h->person_ref, "person reference", e);
        if (result == AVRR_OK)
            result = col_enum(s, res, i, 4, band_parse, &band, "band", e);
        h->band = (avrr_band)band;
    }
out:
    PQclear(res);
    return result;
}

static avrr_err pgs_check_get(avrr_store *base, const char *tenant,
                              int64_t id, avrr_check *out, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    int purpose = 0;
    avrr_err result;

    memset(out, 0, sizeof *out);
    p_int(&p, id);
    p_text(&p, tenant != NULL ? tenant : "");
    result = pq_run(s, ST_CHECK_GET, &p, &res, NULL, "reading the check", e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no check %lld",
                                (long long)id);
    if (result != AVRR_OK)
        goto out;
    out->id = col_int(res, 0, 0);
    out->key_id = col_int(res, 0, 2);
    out->person_id = col_int(res, 0, 4);
    out->created_at = col_int(res, 0, 7);
    result = col_fixed(s, res, 0, 1, out->tenant, sizeof out->tenant,
                       "tenant", e);
    if (result == AVRR_OK)
        result = col_enum(s, res, 0, 3, avrr_purpose_parse, &purpose,
                          "purpose", e);
    out->purpose = (avrr_purpose)purpose;
    if (result == AVRR_OK)
        result = col_str(res, 0, 5, &out->request_json, e);
    if (result == AVRR_OK)
        result = col_str(res, 0, 6, &out->response_json, e);
    PQclear(res);
    res = NULL;
    if (result == AVRR_OK)
        result = load_hits(s, out, e);
out:
    PQclear(res);
    if (result != AVRR_OK)
        avrr_check_clear(out);
    return result;
}

/* ---- links -------------------------------------------------------------- */

/* Why LINK_INSERT gave no row: a side is not a person of its tenant. */
static avrr_err link_refused(pg_store *s, const avrr_link *l, avrr_error *e)
{
    bool owned = true;
    avrr_err result = AVRR_OK;

    if (l->person_a > 0)
        result = owned_by(s, ST_PERSON_OWNED, l->person_a, l->tenant_a,
                          &owned, e);
    if (result == AVRR_OK && !owned)
        return avrr_error_set(e, AVRR_ENOTFOUND, "person_a", "no person %lld",
                              (long long)l->person_a);
    if (result == AVRR_OK)
        result = owned_by(s, ST_PERSON_OWNED, l->person_b, l->tenant_b,
                          &owned, e);
    if (result == AVRR_OK && !owned)
        return avrr_error_set(e, AVRR_ENOTFOUND, "person_b", "no person %lld",
                              (long long)l->person_b);
    if (result == AVRR_OK) /* persons are never deleted: not seen so far */
        result = avrr_error_set(e, AVRR_ECONFLICT, NULL,
                                "the persons of the link changed meanwhile: "
                                "try again");
    return result;
}

/* link_insert for n links: sent pipelined, read in one round trip (per
 * HITS_PER_READ links). All or nothing. */
/* The ids of the n links whose LINK_INSERT results are res[], made at now;
 * a link without a row was refused (link_refused names why). */
static avrr_err links_inserted(pg_store *s, avrr_link *ls, size_t n, PGresult **res,
                               int64_t now, avrr_error *e)
{
    avrr_err result = AVRR_OK;
    for (size_t i = 0; result == AVRR_OK && i < n; i++) {
        if (res[i] != NULL && PQntuples(res[i]) == 1) {
            ls[i].id = col_int(res[i], 0, 0);
            ls[i].created_at = now;
        } else {
            result = link_refused(s, &ls[i], e);
        }
    }
    return result;
}

/* Frees the results res[] (and res); when the store call failed, the links
 * are left without ids, as nothing of them was stored. */
static void links_done(avrr_link *ls, size_t n, PGresult **res, avrr_err result)
{
    for (size_t i = 0; res && i < n; i++) {
        PQclear(res[i]);
        if (result != AVRR_OK) {
            ls[i].id = 0;
            ls[i].created_at = 0;
        }
    }
    avrr_free(res);
}

static avrr_err pgs_link_insert_many(avrr_store *base, avrr_link *ls,
                                     size_t n, avrr_error *e)
{
    pg_store *s = pg(base);
    int64_t now = now_seconds();
    PGresult **res = NULL;
    write_scope w;
    avrr_err result = AVRR_OK;

    if (n == 0)
        return AVRR_OK;
    for (size_t i = 0; i < n; i++)
        if (avrr_link_status_name((int)ls[i].status) == NULL)
            return avrr_error_set(e, AVRR_EINVALID, "status",
                                  "unknown link status");
    res = avrr_calloc(n, sizeof *res);
    if (res == NULL)
        return no_memory(e);
    /* Persons carry no foreign key (erasure keeps the link), so the
     * statement checks that each side is a person of its tenant. */
    result = scope_begin(s, &w, true, e);
    if (result != AVRR_OK)
        goto done;
    for (size_t i = 0; result == AVRR_OK && i < n; i++) {
        pq_params p = {0};

        link_params(&p, &ls[i], ls[i].check_id, now);
        result = pipe_send_into(s, ST_LINK_INSERT, &p, NULL, "link", &res[i],
                                e);
        if (result == AVRR_OK && (i + 1) % HITS_PER_READ == 0)
            result = pipe_flush(s, true, e);
    }
    if (result == AVRR_OK)
        result = pipe_flush(s, true, e);
    if (result == AVRR_OK)
        result = links_inserted(s, ls, n, res, now, e);
    result = scope_end(s, &w, result, e);
done:
    links_done(ls, n, res, result);
    return result;
}

static avrr_err pgs_link_insert(avrr_store *base, avrr_link *l,
                                avrr_error *e)
{
    return pgs_link_insert_many(base, l, 1, e);
}

static avrr_err head_of(pg_store *s, const PGresult *res, int64_t *seq,
                        uint8_t hash[32], avrr_error *e);

/* check_insert and link_insert_many in one round trip (per HITS_PER_READ
 * links): the ownership of the requester's person, the check, its hits and
 * its links are sent pipelined, the links naming the check by currval, and
 * read together. In the caller's transaction, the audit log's lock and head
 * read ride with them too, for the event the caller appends next
 * (head_known): that event then costs no round trip of its own but the
 * COMMIT's. All or nothing. */
static avrr_err pgs_check_insert_links(avrr_store *base, avrr_check *c,
                                       avrr_link *ls, size_t n,
                                       avrr_error *e)
{
    pg_store *s = pg(base);
    const char *purpose = avrr_purpose_name((int)c->purpose);
    int64_t now = now_seconds();
    PGresult *own = NULL, *chk = NULL, *head = NULL, **res = NULL;
    bool ahead = false;
    int64_t head_seq = 0;
    uint8_t head_hash[32] = {0};
    pq_params p = {0};
    write_scope w;
    avrr_err result;

    if (purpose == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "purpose", "unknown purpose");
    for (size_t i = 0; i < n; i++)
        if (avrr_link_status_name((int)ls[i].status) == NULL)
            return avrr_error_set(e, AVRR_EINVALID, "status",
                                  "unknown link status");
    res = n > 0 ? avrr_calloc(n, sizeof *res) : NULL;
    if (n > 0 && res == NULL)
        return no_memory(e);
    result = scope_begin(s, &w, true, e);
    if (result != AVRR_OK)
        goto done;
    /* The requester's own person, when given, must be the requester's. */
    if (c->person_id > 0) {
        p_int(&p, c->person_id);
        p_text(&p, c->tenant);
        result = pipe_send_into(s, ST_PERSON_OWNED, &p, NULL,
                                "checking ownership", &own, e);
        memset(&p, 0, sizeof p);
    }
    check_params(&p, c, purpose, now);
    if (result == AVRR_OK)
        result = pipe_send_into(s, ST_CHECK_INSERT, &p, "tenant", "check",
                                &chk, e);
    if (result == AVRR_OK)
        result = insert_hits(s, c, e);
    for (size_t i = 0; result == AVRR_OK && i < n; i++) {
        pq_params q = {0};

        link_params(&q, &ls[i], 0, now); /* check: the one just sent */
        result = pipe_send_into(s, ST_LINK_INSERT_CHECK, &q, NULL, "link",
                                &res[i], e);
        if (result == AVRR_OK && (i + 1) % HITS_PER_READ == 0)
            result = pipe_flush(s, true, e);
    }
    /* The audit head for the caller's event, under the lock the event
     * would take anyway (held to the end of the transaction). */
    ahead = w.kind == SCOPE_SAVEPOINT && !s->head_known;
    if (result == AVRR_OK && ahead)
        result = pipe_send(s, ST_AUDIT_LOCK, NULL, NULL,
                           "locking the audit log", e);
    if (result == AVRR_OK && ahead)
        result = pipe_send_into(s, ST_AUDIT_HEAD, NULL, NULL,
                                "reading the audit log", &head, e);
    if (result == AVRR_OK)
        result = pipe_flush(s, true, e);
    if (result == AVRR_OK && c->person_id > 0 &&
        (own == NULL || PQntuples(own) != 1 || col_int(own, 0, 0) == 0))
        result = avrr_error_set(e, AVRR_ENOTFOUND, "person_id",
                                "no person %lld", (long long)c->person_id);
    if (result == AVRR_OK && (chk == NULL || PQntuples(chk) != 1))
        result = avrr_error_set(e, AVRR_EDB, NULL, "check: no id returned");
    if (result == AVRR_OK) {
        c->id = col_int(chk, 0, 0);
        c->created_at = now;
    }
    for (size_t i = 0; result == AVRR_OK && i < n; i++)
        ls[i].check_id = c->id;
    if (result == AVRR_OK)
        result = links_inserted(s, ls, n, res, now, e);
    if (result == AVRR_OK && ahead)
        result = head == NULL ? avrr_error_set(e, AVRR_EDB, NULL,
                                               "audit head: no result")
                              : head_of(s, head, &head_seq, head_hash, e);
    result = scope_end(s, &w, result, e);
    if (result == AVRR_OK && ahead) {
        /* Released into the caller's transaction, with the lock. */
        s->head_known = true;
        s->head_seq = head_seq;
        memcpy(s->head_hash, head_hash, sizeof s->head_hash);
    }
done:
    PQclear(own);
    PQclear(chk);
    PQclear(head);
    links_done(ls, n, res, result);
    if (result != AVRR_OK) {
        c->id = 0;
        c->created_at = 0;
    }
    return result;
}

static uint64_t pgs_round_trips(avrr_store *base)
{
    return pg(base)->round_trips;
}

static avrr_err read_link(pg_store *s, const PGresult *r, int row,
                          avrr_link *l, avrr_error *e)
{
    int status = 0;
    avrr_err result;

    l->id = col_int(r, row, 0);
    l->person_a = col_int(r, row, 1);
    l->person_b = col_int(r, row, 3);
    l->check_id = col_int(r, row, 5);
    l->probability = col_double(r, row, 8);
    l->resolved_key_id = col_int(r, row, 11);
    l->resolved_at = col_int(r, row, 12);
    l->created_at = col_int(r, row, 13);
    result = col_fixed(s, r, row, 2, l->tenant_a, sizeof l->tenant_a,
                       "tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 4, l->tenant_b, sizeof l->tenant_b,
                           "tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 6, l->source, sizeof l->source,
                           "link source", e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 7, avrr_link_status_parse, &status,
                          "link status", e);
    l->status = (avrr_link_status)status;
    if (result == AVRR_OK)
        result = col_str(r, row, 9, &l->reason, e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 10, l->resolved_by,
                           sizeof l->resolved_by, "tenant", e);
    return result;
}

/* Runs a query of LINK_COLS rows into a new array. */
static avrr_err query_links(pg_store *s, enum stmt_id id, const pq_params *p,
                            avrr_link **out, size_t *n, avrr_error *e)
{
    PGresult *res = NULL;
    avrr_link *arr = NULL;
    size_t len = 0;
    avrr_err result = pq_run(s, id, p, &res, NULL, "listing links", e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++)
        result = read_link(s, res, i, &arr[len++], e);
out:
    PQclear(res);
    if (result != AVRR_OK) {
        avrr_store_free_links(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err pgs_link_get(avrr_store *base, const char *tenant, int64_t id,
                             avrr_link *out, avrr_error *e)
{
    avrr_link *arr = NULL;
    pq_params p = {0};
    size_t n = 0;
    avrr_err result;

    memset(out, 0, sizeof *out);
    p_int(&p, id);
    p_text(&p, tenant != NULL ? tenant : "");
    result = query_links(pg(base), ST_LINK_GET, &p, &arr, &n, e);
    if (result == AVRR_OK && n == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no link %lld",
                                (long long)id);
    if (result == AVRR_OK) {
        *out = arr[0]; /* the array's one element moves to *out */
        avrr_free(arr);
        return AVRR_OK;
    }
    avrr_store_free_links(arr, n);
    return result;
}

static avrr_err pgs_link_list(avrr_store *base, const char *tenant,
                              int status, int64_t after, size_t limit,
                              avrr_link **out, size_t *n, avrr_error *e)
{
    const char *status_name = NULL;
    pq_params p = {0};

    *out = NULL;
    *n = 0;
    if (status >= 0) {
        status_name = avrr_link_status_name(status);
        if (status_name == NULL)
            return avrr_error_set(e, AVRR_EINVALID, "status",
                                  "unknown link status");
    }
    p_text(&p, tenant != NULL ? tenant : "");
    p_int(&p, after);
    p_int(&p, (int64_t)clamp_limit(limit));
    if (status_name != NULL)
        p_text(&p, status_name);
    return query_links(pg(base),
                       status_name != NULL ? ST_LINK_LIST_STATUS
                                           : ST_LINK_LIST,
                       &p, out, n, e);
}

static avrr_err pgs_links_of_person(avrr_store *base, int64_t person_id,
                                    avrr_link **out, size_t *n,
                                    avrr_error *e)
{
    pq_params p = {0};

    p_int(&p, person_id);
    return query_links(pg(base), ST_LINKS_OF_PERSON, &p, out, n, e);
}

/* The pair's key: the two ids in order, each folded into 31 bits (ids
 * 2^31 apart share a key: they then only wait for each other). */
static avrr_err pgs_link_pair_lock(avrr_store *base, int64_t a, int64_t b,
                                   avrr_error *e)
{
    pg_store *s = pg(base);
    pq_params p = {0};

    if (tx_status(s) != PQTRANS_INTRANS)
        return avrr_error_set(e, AVRR_EINTERNAL, NULL,
                              "a link's lock is taken in a transaction");
    p_int(&p, (a < b ? a : b) & 0x7fffffff);
    p_int(&p, (a < b ? b : a) & 0x7fffffff);
    return pipe_send(s, ST_LINK_PAIR_LOCK, &p, NULL, "locking a link's persons",
                     e);
}

/* After an UPDATE ... AND status = <open> that changed nothing: ECONFLICT
 * when the row is there for `tenant` (decided meanwhile), else ENOTFOUND. */
static avrr_err not_open(pg_store *s, enum stmt_id exists, int64_t id,
                         const char *tenant, const char *what,
                         avrr_error *e)
{
    bool found = false;
    avrr_err result = owned_by(s, exists, id, tenant, &found, e);

    if (result != AVRR_OK)
        return result;
    if (found)
        return avrr_error_set(e, AVRR_ECONFLICT, "status",
                              "%s %lld was already decided", what,
                              (long long)id);
    return avrr_error_set(e, AVRR_ENOTFOUND, "id", "no %s %lld", what,
                          (long long)id);
}

static avrr_err pgs_link_resolve(avrr_store *base, avrr_link *l,
                                 avrr_error *e)
{
    pg_store *s = pg(base);
    const char *status = avrr_link_status_name((int)l->status);
    int64_t now = now_seconds(), changed = 0;
    pq_params p = {0};
    avrr_err result;

    if (status == NULL || l->status == AVRR_LINK_YELLOW)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "a link is resolved to white, green or red");
    /* The resolver must be a party; "" (the operator) may resolve any. */
    p_int(&p, l->id);
    p_text(&p, l->resolved_by);
    p_text(&p, status);
    p_text(&p, l->reason);
    p_code(&p, l->resolved_by);
    p_ref(&p, l->resolved_key_id);
    p_int(&p, now);
    result = write1(s, ST_LINK_RESOLVE, &p, &changed, NULL, NULL, "link", e);
    if (result == AVRR_OK && changed == 0)
        result = not_open(s, ST_LINK_PARTY, l->id, l->resolved_by, "link", e);
    if (result == AVRR_OK)
        l->resolved_at = now;
    return result;
}

/* ---- disclosures -------------------------------------------------------- */

static avrr_err pgs_disclosure_insert(avrr_store *base, avrr_disclosure *d,
                                      avrr_error *e)
{
    pg_store *s = pg(base);
    int64_t now = now_seconds();
    bool owned = false;
    pq_params p = {0};
    write_scope w;
    avrr_err result = scope_begin(s, &w, true, e);

    if (result != AVRR_OK)
        return result;
    /* A requester asks about its own check, for a person of the owner. */
    result = owned_by(s, ST_CHECK_OWNED, d->check_id, d->requester, &owned,
                      e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "check_id",
                                "no check %lld", (long long)d->check_id);
    if (result == AVRR_OK)
        result = owned_by(s, ST_PERSON_OWNED, d->person_id, d->owner, &owned,
                          e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "person_id",
                                "no person %lld", (long long)d->person_id);
    if (result != AVRR_OK)
        goto out;
    p_int(&p, d->check_id);
    p_text(&p, d->requester);
    p_ref(&p, d->requester_key_id);
    p_text(&p, d->owner);
    p_int(&p, d->person_id);
    p_text(&p, d->person_ref);
    p_text(&p, d->reason);
    p_int(&p, now);
    result = insert_id(s, ST_DISCLOSURE_INSERT, &p, &d->id, NULL,
                       "disclosure", e);
    if (result == AVRR_OK) {
        /* A new request is always pending, whatever d->status said. */
        d->status = AVRR_DISCLOSURE_PENDING;
        d->created_at = now;
    }
out:
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK) {
        d->id = 0;
        d->created_at = 0;
    }
    return result;
}

static avrr_err read_disclosure(pg_store *s, const PGresult *r, int row,
                                avrr_disclosure *d, avrr_error *e)
{
    int status = 0;
    avrr_err result;

    d->id = col_int(r, row, 0);
    d->check_id = col_int(r, row, 1);
    d->requester_key_id = col_int(r, row, 3);
    d->person_id = col_int(r, row, 5);
    d->decided_key_id = col_int(r, row, 10);
    d->decided_at = col_int(r, row, 11);
    d->created_at = col_int(r, row, 12);
    result = col_fixed(s, r, row, 2, d->requester, sizeof d->requester,
                       "tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 4, d->owner, sizeof d->owner, "tenant",
                           e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 6, d->person_ref, sizeof d->person_ref,
                           "person reference", e);
    if (result == AVRR_OK)
        result = col_str(r, row, 7, &d->reason, e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 8, avrr_disclosure_status_parse, &status,
                          "disclosure status", e);
    d->status = (avrr_disclosure_status)status;
    if (result == AVRR_OK)
        result = col_str(r, row, 9, &d->decision_reason, e);
    return result;
}

static avrr_err query_disclosures(pg_store *s, enum stmt_id id,
                                  const pq_params *p, avrr_disclosure **out,
                                  size_t *n, avrr_error *e)
{
    PGresult *res = NULL;
    avrr_disclosure *arr = NULL;
    size_t len = 0;
    avrr_err result = pq_run(s, id, p, &res, NULL, "listing disclosures", e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++)
        result = read_disclosure(s, res, i, &arr[len++], e);
out:
    PQclear(res);
    if (result != AVRR_OK) {
        avrr_store_free_disclosures(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err pgs_disclosure_get(avrr_store *base, const char *tenant,
                                   int64_t id, avrr_disclosure *out,
                                   avrr_error *e)
{
    avrr_disclosure *arr = NULL;
    pq_params p = {0};
    size_t n = 0;
    avrr_err result;

    memset(out, 0, sizeof *out);
    p_int(&p, id);
    p_text(&p, tenant != NULL ? tenant : "");
    result = query_disclosures(pg(base), ST_DISCLOSURE_GET, &p, &arr, &n, e);
    if (result == AVRR_OK && n == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id",
                                "no disclosure %lld", (long long)id);
    if (result == AVRR_OK) {
        *out = arr[0];
        avrr_free(arr);
        return AVRR_OK;
    }
    avrr_store_free_disclosures(arr, n);
    return result;
}

static avrr_err pgs_disclosure_list(avrr_store *base, const char *tenant,
                                    int status, int64_t after, size_t limit,
                                    avrr_disclosure **out, size_t *n,
                                    avrr_error *e)
{
    const char *status_name = NULL;
    pq_params p = {0};

    *out = NULL;
    *n = 0;
    if (status >= 0) {
        status_name = avrr_disclosure_status_name(status);
        if (status_name == NULL)
            return avrr_error_set(e, AVRR_EINVALID, "status",
                                  "unknown disclosure status");
    }
    p_text(&p, tenant != NULL ? tenant : "");
    p_int(&p, after);
    p_int(&p, (int64_t)clamp_limit(limit));
    if (status_name != NULL)
        p_text(&p, status_name);
    return query_disclosures(pg(base),
                             status_name != NULL ? ST_DISCLOSURE_LIST_STATUS
                                                 : ST_DISCLOSURE_LIST,
                             &p, out, n, e);
}

static avrr_err pgs_disclosure_decide(avrr_store *base, avrr_disclosure *d,
                                      avrr_error *e)
{
    pg_store *s = pg(base);
    const char *status = avrr_disclosure_status_name((int)d->status);
    int64_t now = now_seconds(), changed = 0;
    pq_params p = {0};
    avrr_err result;

    if (status == NULL || d->status == AVRR_DISCLOSURE_PENDING)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "a disclosure is approved or refused");
    /* Only the owner decides; "" (the operator) may decide any. */
    p_int(&p, d->id);
    p_text(&p, d->owner);
    p_text(&p, status);
    p_text(&p, d->decision_reason);
    p_ref(&p, d->decided_key_id);
    p_int(&p, now);
    result = write1(s, ST_DISCLOSURE_DECIDE, &p, &changed, NULL, NULL,
                    "disclosure", e);
    if (result == AVRR_OK && changed == 0)
        result = not_open(s, ST_DISCLOSURE_OWNED, d->id, d->owner,
                          "disclosure", e);
    if (result == AVRR_OK)
        d->decided_at = now;
    return result;
}

/* ---- privacy: audit log -------------------------------------------------- */

#define META_ANCHOR_SEQ "audit_anchor_seq"
#define META_ANCHOR_HASH "audit_anchor_hash"

/* The retention anchor: seq 0 and zeros until a purge set one. */
static avrr_err read_anchor(pg_store *s, int64_t *seq, uint8_t hash[32],
                            avrr_error *e)
{
    char *seq_text = NULL, *hash_text = NULL, *end = NULL;
    avrr_error local = {0};
    avrr_err result;

    *seq = 0;
    memset(hash, 0, 32);
    result = pgs_meta_get(&s->base, META_ANCHOR_SEQ, &seq_text, &local);
    if (result == AVRR_ENOTFOUND)
        return AVRR_OK; /* no purge yet */
    if (result != AVRR_OK) {
        if (e != NULL)
            *e = local;
        goto out;
    }
    result = pgs_meta_get(&s->base, META_ANCHOR_HASH, &hash_text, e);
    if (result == AVRR_ENOTFOUND) {
        result = corrupt(s, "audit anchor", e);
        goto out;
    }
    if (result != AVRR_OK)
        goto out;
    errno = 0;
    *seq = strtoll(seq_text, &end, 10);
    if (errno != 0 || end == seq_text || *end != '\0' || *seq < 0 ||
        strlen(hash_text) != 64 || !unhex(hash_text, hash, 32)) {
        result = corrupt(s, "audit anchor", e);
        goto out;
    }
out:
    if (result != AVRR_OK) {
        *seq = 0;
        memset(hash, 0, 32);
    }
    avrr_free(seq_text);
    avrr_free(hash_text);
    return result;
}

/* Moves the anchor; the caller holds a write scope. */
static avrr_err write_anchor(pg_store *s, int64_t seq, const uint8_t hash[32],
                             avrr_error *e)
{
    static const char digits[] = "0123456789abcdef";
    char seq_text[24], hash_text[65];
    avrr_err result;

    snprintf(seq_text, sizeof seq_text, "%lld", (long long)seq);
    for (size_t i = 0; i < 32; i++) {
        hash_text[2 * i] = digits[hash[i] >> 4];
        hash_text[2 * i + 1] = digits[hash[i] & 0x0f];
    }
    hash_text[64] = '\0';
    result = pgs_meta_set(&s->base, META_ANCHOR_SEQ, seq_text, e);
    if (result == AVRR_OK)
        result = pgs_meta_set(&s->base, META_ANCHOR_HASH, hash_text, e);
    return result;
}

/* The head of the chain: the newest event, or the anchor when retention
 * removed every event (seq 0 and zeros for a new log). */
/* The head in the result of AUDIT_HEAD (no row: the anchor). */
static avrr_err head_of(pg_store *s, const PGresult *res, int64_t *seq,
                        uint8_t hash[32], avrr_error *e)
{
    *seq = 0;
    memset(hash, 0, 32);
    if (PQntuples(res) == 1) {
        *seq = col_int(res, 0, 0);
        return col_blob(s, res, 0, 1, hash, 32, "audit hash", e);
    }
    return read_anchor(s, seq, hash, e);
}

static avrr_err audit_head(pg_store *s, int64_t *seq, uint8_t hash[32],
                           avrr_error *e)
{
    PGresult *res = NULL;
    avrr_err result = pq_run(s, ST_AUDIT_HEAD, NULL, &res, NULL,
                             "reading the audit log", e);

    *seq = 0;
    memset(hash, 0, 32);
    if (result == AVRR_OK)
        result = head_of(s, res, seq, hash, e);
    PQclear(res);
    return result;
}

/* Copies a fixed buffer that may lack its NUL into `out` (size + 1). */
static const char *fixed_text(const char *buf, size_t size, char *out)
{
    size_t n = strnlen(buf, size);
    memcpy(out, buf, n);
    out[n] = '\0';
    return out;
}

static avrr_err pgs_audit_append(avrr_store *base, avrr_audit_event *ev,
                                 void (*chain)(avrr_audit_event *ev),
                                 avrr_error *e)
{
    pg_store *s = pg(base);
    char tenant[sizeof ev->tenant + 1], role[sizeof ev->role + 1],
        action[sizeof ev->action + 1],
        target_type[sizeof ev->target_type + 1],
        purpose[sizeof ev->purpose + 1],
        request_id[sizeof ev->request_id + 1],
        outcome[sizeof ev->outcome + 1];
    int64_t head = 0;
    uint8_t prev[32];
    pq_params p = {0};
    write_scope w;
    avrr_err result;

    if (chain == NULL)
        return avrr_error_set(e, AVRR_EINVALID, NULL,
                              "an audit event needs a chain function");
    if (strnlen(ev->action, sizeof ev->action) == 0)
        return avrr_error_set(e, AVRR_EINVALID, "action",
                              "an audit event needs an action");
    /* The head is read under a table lock held to the end of the (outer)
     * transaction, so that two processes appending to one database cannot
     * both take seq + 1: the second waits, then reads the first's event
     * (READ COMMITTED takes a new snapshot per statement). When this
     * transaction holds the lock already and knows the head (head_known:
     * read under the lock or written by this connection since), nobody
     * else can have moved it: no read. */
    result = scope_begin(s, &w, true, e);
    if (result != AVRR_OK)
        return result;
    if (s->head_known && w.kind == SCOPE_SAVEPOINT) {
        head = s->head_seq;
        memcpy(prev, s->head_hash, sizeof prev);
    } else {
        result = pipe_send(s, ST_AUDIT_LOCK, NULL, NULL,
                           "locking the audit log", e);
        if (result == AVRR_OK)
            result = audit_head(s, &head, prev, e);
    }
    if (result != AVRR_OK)
        goto out;
    ev->seq = head + 1;
    memcpy(ev->prev_hash, prev, sizeof ev->prev_hash);
    chain(ev);
    p_int(&p, ev->seq);
    p_int(&p, ev->ts_ms);
    p_int(&p, ev->key_id);
    p_text(&p, fixed_text(ev->tenant, sizeof ev->tenant, tenant));
    p_text(&p, fixed_text(ev->role, sizeof ev->role, role));
    p_text(&p, fixed_text(ev->action, sizeof ev->action, action));
    p_text(&p, fixed_text(ev->target_type, sizeof ev->target_type,
                          target_type));
    p_int(&p, ev->target_id);
    p_text(&p, fixed_text(ev->purpose, sizeof ev->purpose, purpose));
    p_text(&p, fixed_text(ev->request_id, sizeof ev->request_id,
                          request_id));
    p_text(&p, fixed_text(ev->outcome, sizeof ev->outcome, outcome));
    p_blob(&p, ev->prev_hash, 32);
    p_blob(&p, ev->hash, 32);
    /* Pipelined: the event rides with the next statement (the COMMIT). */
    result = pipe_send(s, ST_AUDIT_INSERT, &p, NULL, "audit event", e);
out:
    s->head_known = false;
    result = scope_end(s, &w, result, e);
    if (result == AVRR_OK && w.kind == SCOPE_SAVEPOINT) {
        /* The caller's transaction keeps the lock: the next event of it
         * chains on this one. (Should the event fail when it runs, the
         * transaction can only be rolled back: late_error.) */
        s->head_known = true;
        s->head_seq = ev->seq;
        memcpy(s->head_hash, ev->hash, sizeof s->head_hash);
    }
    if (result != AVRR_OK)
        ev->seq = 0;
    return result;
}

/* audit_append for many events: one lock, one read of the head, one COPY.
 * The events are chained in array order. All or nothing. */
static avrr_err pgs_audit_append_many(avrr_store *base, avrr_audit_event *evs,
                                      size_t n,
                                      void (*chain)(avrr_audit_event *ev),
                                      avrr_error *e)
{
    pg_store *s = pg(base);
    int64_t head = 0;
    uint8_t prev[32];
    copy_buf b = {0};
    write_scope w;
    avrr_err result;

    if (chain == NULL)
        return avrr_error_set(e, AVRR_EINVALID, NULL,
                              "an audit event needs a chain function");
    for (size_t i = 0; i < n; i++)
        if (strnlen(evs[i].action, sizeof evs[i].action) == 0)
            return avrr_error_set(e, AVRR_EINVALID, "action",
                                  "an audit event needs an action");
    if (n == 0)
        return AVRR_OK;
    s->head_known = false; /* these events move it */
    result = scope_begin(s, &w, true, e);
    if (result != AVRR_OK)
        return result;
    result = pipe_send(s, ST_AUDIT_LOCK, NULL, NULL, "locking the audit log",
                       e);
    if (result == AVRR_OK)
        result = audit_head(s, &head, prev, e);
    for (size_t i = 0; result == AVRR_OK && i < n; i++) {
        avrr_audit_event *ev = &evs[i];
        char tenant[sizeof ev->tenant + 1], role[sizeof ev->role + 1],
            action[sizeof ev->action + 1],
            target_type[sizeof ev->target_type + 1],
            purpose[sizeof ev->purpose + 1],
            request_id[sizeof ev->request_id + 1],
            outcome[sizeof ev->outcome + 1];
        ev->seq = head + 1 + (int64_t)i;
        memcpy(ev->prev_hash, i == 0 ? prev : evs[i - 1].hash,
               sizeof ev->prev_hash);
        chain(ev);
        cb_int(&b, true, ev->seq);
        cb_int(&b, false, ev->ts_ms);
        cb_int(&b, false, ev->key_id);
        cb_text(&b, false, fixed_text(ev->tenant, sizeof ev->tenant, tenant));
        cb_text(&b, false, fixed_text(ev->role, sizeof ev->role, role));
        cb_text(&b, false, fixed_text(ev->action, sizeof ev->action, action));
        cb_text(&b, false, fixed_text(ev->target_type, sizeof ev->target_type,
                                      target_type));
        cb_int(&b, false, ev->target_id);
        cb_text(&b, false, fixed_text(ev->purpose, sizeof ev->purpose, purpose));
        cb_text(&b, false, fixed_text(ev->request_id, sizeof ev->request_id,
                                      request_id));
        cb_text(&b, false, fixed_text(ev->outcome, sizeof ev->outcome, outcome));
        cb_bytea(&b, false, ev->prev_hash, 32);
        cb_bytea(&b, false, ev->hash, 32);
        cb_end(&b);
    }
    if (result == AVRR_OK)
        result = copy_run(s, "COPY audit_events (" AUDIT_COLS ") FROM STDIN",
                          &b, "audit event", e);
    avrr_free(b.p);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK)
        for (size_t i = 0; i < n; i++)
            evs[i].seq = 0;
    return result;
}

static avrr_err read_event(pg_store *s, const PGresult *r, int row,
                           avrr_audit_event *ev, avrr_error *e)
{
    avrr_err result;

    memset(ev, 0, sizeof *ev);
    ev->seq = col_int(r, row, 0);
    ev->ts_ms = col_int(r, row, 1);
    ev->key_id = col_int(r, row, 2);
    ev->target_id = col_int(r, row, 7);
    result = col_fixed(s, r, row, 3, ev->tenant, sizeof ev->tenant,
                       "audit tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 4, ev->role, sizeof ev->role,
                           "audit role", e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 5, ev->action, sizeof ev->action,
                           "audit action", e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 6, ev->target_type,
                           sizeof ev->target_type, "audit target type", e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 8, ev->purpose, sizeof ev->purpose,
                           "audit purpose", e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 9, ev->request_id,
                           sizeof ev->request_id, "audit request id", e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 10, ev->outcome, sizeof ev->outcome,
                           "audit outcome", e);
    if (result == AVRR_OK)
        result = col_blob(s, r, row, 11, ev->prev_hash, sizeof ev->prev_hash,
                          "audit hash", e);
    if (result == AVRR_OK)
        result = col_blob(s, r, row, 12, ev->hash, sizeof ev->hash,
                          "audit hash", e);
    return result;
}

/* Runs an audit query into a new array of events. */
static avrr_err query_events(pg_store *s, enum stmt_id id, const pq_params *p,
                             avrr_audit_event **out, size_t *n,
                             avrr_error *e)
{
    PGresult *res = NULL;
    avrr_audit_event *arr = NULL;
    size_t len = 0;
    avrr_err result = pq_run(s, id, p, &res, NULL, "reading the audit log",
                             e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++)
        result = read_event(s, res, i, &arr[len++], e);
out:
    PQclear(res);
    if (result != AVRR_OK) {
        avrr_free(arr);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err pgs_audit_scan(avrr_store *base, int64_t after,
                               int (*cb)(void *arg,
                                         const avrr_audit_event *ev),
                               void *arg, avrr_error *e)
{
    avrr_audit_event *batch = NULL;
    size_t len = 0;
    avrr_err result = AVRR_OK;

    /* As identity_scan: read a batch, then call back with no query open. */
    for (;;) {
        pq_params p = {0};

        p_int(&p, after);
        p_int(&p, SCAN_BATCH);
        result = query_events(pg(base), ST_AUDIT_SCAN, &p, &batch, &len, e);
        if (result != AVRR_OK)
            goto out;
        for (size_t i = 0; i < len; i++) {
            int stop = cb(arg, &batch[i]);
            if (stop != 0) {
                result = (avrr_err)stop;
                goto out;
            }
        }
        if (len < SCAN_BATCH)
            break;
        after = batch[len - 1].seq;
        avrr_free(batch);
        batch = NULL;
    }
out:
    avrr_free(batch);
    return result;
}

static avrr_err pgs_audit_list(avrr_store *base, const char *tenant,
                               int64_t after, size_t limit,
                               avrr_audit_event **out, size_t *n,
                               avrr_error *e)
{
    pq_params p = {0};

    if (tenant != NULL)
        p_text(&p, tenant);
    p_int(&p, after);
    p_int(&p, (int64_t)clamp_limit(limit));
    return query_events(pg(base),
                        tenant != NULL ? ST_AUDIT_LIST_TENANT : ST_AUDIT_SCAN,
                        &p, out, n, e);
}

static avrr_err pgs_audit_anchor(avrr_store *base, int64_t *seq,
                                 uint8_t hash[32], avrr_error *e)
{
    return read_anchor(pg(base), seq, hash, e);
}

static avrr_err pgs_audit_purge(avrr_store *base, int64_t before_ts_ms,
                                int64_t *n_removed, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    int64_t last = 0, removed = 0;
    uint8_t hash[32];
    pq_params p = {0}, q = {0};
    write_scope w;
    avrr_err result;

    if (n_removed != NULL)
        *n_removed = 0;
    s->head_known = false; /* the anchor may become the head */
    result = scope_begin(s, &w, true, e);
    if (result != AVRR_OK)
        return result;
    /* Appenders wait: the anchor and the chain's start move together. */
    result = pq_run(s, ST_AUDIT_LOCK, NULL, NULL, NULL,
                    "locking the audit log", e);
    if (result != AVRR_OK)
        goto out;
    p_int(&p, before_ts_ms);
    result = pq_run(s, ST_AUDIT_PURGE_LAST, &p, &res, NULL,
                    "purging the audit log", e);
    if (result != AVRR_OK || PQntuples(res) == 0)
        goto out; /* nothing old enough */
    last = col_int(res, 0, 0);
    result = col_blob(s, res, 0, 1, hash, sizeof hash, "audit hash", e);
    if (result != AVRR_OK)
        goto out;
    p_int(&q, last);
    result = pq_change(s, ST_AUDIT_PURGE, &q, &removed, NULL,
                       "purging the audit log", e);
    if (result == AVRR_OK)
        result = write_anchor(s, last, hash, e);
out:
    PQclear(res);
    result = scope_end(s, &w, result, e);
    if (result == AVRR_OK && n_removed != NULL)
        *n_removed = removed;
    return result;
}

static avrr_err pgs_audit_checkpoint_insert(avrr_store *base,
                                            const avrr_audit_checkpoint *c,
                                            avrr_error *e)
{
    pq_params p = {0};

    p_int(&p, c->seq);
    p_blob(&p, c->hash, sizeof c->hash);
    p_int(&p, c->ts_ms);
    p_blob(&p, c->public_key, sizeof c->public_key);
    p_blob(&p, c->signature, sizeof c->signature);
    return write1(pg(base), ST_CHECKPOINT_INSERT, &p, NULL, NULL, "seq",
                  "audit checkpoint", e);
}

static avrr_err pgs_audit_checkpoint_list(avrr_store *base,
                                          avrr_audit_checkpoint **out,
                                          size_t *n, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    avrr_audit_checkpoint *arr = NULL;
    size_t len = 0;
    avrr_err result;

    *out = NULL;
    *n = 0;
    result = pq_run(s, ST_CHECKPOINT_LIST, NULL, &res, NULL,
                    "listing audit checkpoints", e);
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++) {
        avrr_audit_checkpoint *c = &arr[len++];
        c->seq = col_int(res, i, 0);
        c->ts_ms = col_int(res, i, 2);
        result = col_blob(s, res, i, 1, c->hash, sizeof c->hash,
                          "checkpoint hash", e);
        if (result == AVRR_OK)
            result = col_blob(s, res, i, 3, c->public_key,
                              sizeof c->public_key, "checkpoint public key",
                              e);
        if (result == AVRR_OK)
            result = col_blob(s, res, i, 4, c->signature,
                              sizeof c->signature, "checkpoint signature", e);
    }
out:
    PQclear(res);
    if (result != AVRR_OK) {
        avrr_free(arr);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

/* ---- privacy: rectification, erasure, restriction, retention ------------- */

/* The person of identity `id` when that person is `tenant`'s, else
 * ENOTFOUND (field "id"), exactly as for a missing identity. */
static avrr_err identity_person(pg_store *s, int64_t id, const char *tenant,
                                int64_t *person_id, avrr_error *e)
{
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    *person_id = 0;
    p_int(&p, id);
    p_text(&p, tenant != NULL ? tenant : "");
    result = pq_run(s, ST_IDENTITY_PERSON, &p, &res, NULL,
                    "reading the identity", e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no identity %lld",
                                (long long)id);
    if (result == AVRR_OK)
        *person_id = col_int(res, 0, 0);
    PQclear(res);
    return result;
}

static avrr_err pgs_identity_rectify(avrr_store *base, const char *tenant,
                                     const avrr_identity *id,
                                     const char *old_json, int64_t key_id,
                                     avrr_error *e)
{
    pg_store *s = pg(base);
    const char *sex = avrr_sex_name((int)id->sex);
    int64_t person_id = 0;
    char birth[11];
    write_scope w;
    avrr_err result;

    if (sex == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "sex", "unknown sex");
    if (old_json == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "old_json",
                              "a rectification keeps the previous version");
    avrr_date_format(&id->birth_date, birth);
    result = scope_begin(s, &w, true, e);
    if (result != AVRR_OK)
        return result;
    result = identity_person(s, id->id, tenant, &person_id, e);
    /* id->person_id, when given, must name the same person. */
    if (result == AVRR_OK && id->person_id > 0 && id->person_id != person_id)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no identity %lld",
                                (long long)id->id);
    if (result == AVRR_OK) {
        pq_params p = {0};
        p_int(&p, id->id);
        p_int(&p, person_id);
        p_int(&p, now_seconds());
        p_ref(&p, key_id);
        p_text(&p, old_json);
        result = pq_run(s, ST_HISTORY_INSERT, &p, NULL, NULL,
                        "identity history", e);
    }
    if (result == AVRR_OK) {
        pq_params p = {0};
        p_int(&p, id->id);
        p_identity(&p, id, sex, birth);
        result = pq_run(s, ST_IDENTITY_UPDATE, &p, NULL, NULL, "identity", e);
    }
    if (result == AVRR_OK) {
        pq_params p = {0};
        p_int(&p, id->id);
        result = pq_run(s, ST_DOCUMENTS_DELETE, &p, NULL, NULL, "documents",
                        e);
    }
    if (result == AVRR_OK)
        result = insert_documents(s, id, e);
    return scope_end(s, &w, result, e);
}

static avrr_err pgs_identity_history(avrr_store *base, const char *tenant,
                                     int64_t person_id,
                                     avrr_identity_change **out, size_t *n,
                                     avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    avrr_identity_change *arr = NULL;
    pq_params p = {0};
    size_t len = 0;
    bool owned = false;
    avrr_err result;

    *out = NULL;
    *n = 0;
    result = owned_by(s, ST_PERSON_OWNED, person_id, tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no person %lld",
                                (long long)person_id);
    if (result != AVRR_OK)
        return result;
    p_int(&p, person_id);
    result = pq_run(s, ST_HISTORY_OF, &p, &res, NULL,
                    "reading identity history", e);
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++) {
        avrr_identity_change *c = &arr[len++];
        c->identity_id = col_int(res, i, 0);
        c->changed_at = col_int(res, i, 1);
        c->key_id = col_int(res, i, 2);
        result = col_str(res, i, 3, &c->old_json, e);
    }
out:
    PQclear(res);
    if (result != AVRR_OK) {
        for (size_t i = 0; i < len; i++)
            avrr_identity_change_clear(&arr[i]);
        avrr_free(arr);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

/* Runs a statement whose $1 is a person id (the deletes of erasure). */
static avrr_err run_for_person(pg_store *s, enum stmt_id id,
                               int64_t person_id, const char *what,
                               avrr_error *e)
{
    pq_params p = {0};

    p_int(&p, person_id);
    if (id == ST_PERSON_ERASE)
        p_int(&p, now_seconds());
    return pq_run(s, id, &p, NULL, NULL, what, e);
}

static avrr_err pgs_person_erase(avrr_store *base, const char *tenant,
                                 int64_t person_id, avrr_error *e)
{
    pg_store *s = pg(base);
    bool owned = false;
    write_scope w;
    avrr_err result = scope_begin(s, &w, true, e);

    if (result != AVRR_OK)
        return result;
    result = owned_by(s, ST_PERSON_OWNED, person_id, tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no person %lld",
                                (long long)person_id);
    if (result == AVRR_OK)
        result = run_for_person(s, ST_HISTORY_DELETE, person_id,
                                "erasing identity history", e);
    if (result == AVRR_OK)
        result = run_for_person(s, ST_IDENTITIES_DELETE, person_id,
                                "erasing identities", e);
    if (result == AVRR_OK)
        result = run_for_person(s, ST_PERSON_ERASE, person_id,
                                "erasing the person", e);
    if (result == AVRR_OK)
        result = run_for_person(s, ST_ERASE_COUNSELLING, person_id,
                                "erasing counselling notes", e);
    if (result == AVRR_OK)
        result = run_for_person(s, ST_ERASE_PLANS, person_id,
                                "erasing plans", e);
    if (result == AVRR_OK)
        result = run_for_person(s, ST_ERASE_FOLLOW_UPS, person_id,
                                "erasing follow-up notes", e);
    if (result == AVRR_OK)
        result = run_for_person(s, ST_ERASE_REFERRALS, person_id,
                                "erasing referral reasons", e);
    return scope_end(s, &w, result, e);
}

static avrr_err pgs_person_set_restricted(avrr_store *base,
                                          const char *tenant,
                                          int64_t person_id, bool restricted,
                                          avrr_error *e)
{
    pq_params p = {0};
    int64_t changed = 0;
    avrr_err result;

    p_int(&p, person_id);
    p_text(&p, tenant != NULL ? tenant : "");
    p_int(&p, restricted ? 1 : 0);
    result = write1(pg(base), ST_PERSON_RESTRICT, &p, &changed, NULL, NULL,
                    "person", e);
    if (result == AVRR_OK && changed == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no person %lld",
                                (long long)person_id);
    return result;
}

static avrr_err pgs_persons_due(avrr_store *base, const char *tenant,
                                const char *closed_before, int64_t **ids,
                                size_t *n, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    int64_t *arr = NULL;
    avrr_date cutoff;
    pq_params p = {0};
    char text[11];
    avrr_err result;

    *ids = NULL;
    *n = 0;
    result = avrr_date_parse(closed_before != NULL ? closed_before : "",
                             &cutoff, "closed_before", e);
    if (result != AVRR_OK)
        return result;
    if (cutoff.precision != AVRR_DATE_DAY)
        return avrr_error_set(e, AVRR_EINVALID, "closed_before",
                              "the cutoff is a full date (YYYY-MM-DD)");
    avrr_date_format(&cutoff, text);
    p_text(&p, tenant != NULL ? tenant : "");
    p_text(&p, text);
    result = pq_run(s, ST_PERSONS_DUE, &p, &res, NULL,
                    "finding persons due for erasure", e);
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++)
        arr[i] = col_int(res, i, 0);
    *ids = arr;
    *n = (size_t)PQntuples(res);
out:
    PQclear(res);
    return result;
}

static avrr_err pgs_checks_forget(avrr_store *base, int64_t before,
                                  int64_t *n_cleared, avrr_error *e)
{
    pq_params p = {0};
    int64_t changed = 0;
    avrr_err result;

    p_int(&p, before);
    result = write1(pg(base), ST_CHECKS_FORGET, &p, &changed, NULL, NULL,
                    "clearing check requests", e);
    if (n_cleared != NULL)
        *n_cleared = result == AVRR_OK ? changed : 0;
    return result;
}

/* Nothing to do, and what that means for erasure, honestly:
 *
 * SQLite's compact folds the WAL into the file, whose freed pages
 * secure_delete has zeroed. PostgreSQL offers no equivalent from a client.
 * An UPDATE or DELETE leaves the old row version in its heap page as a dead
 * tuple; (auto)VACUUM later marks that space reusable but does not zero it,
 * so the bytes stay in the data files until a new row happens to overwrite
 * them. VACUUM FULL rewrites a table into new files, but the old files are
 * only unlinked and their blocks stay on the disk until the file system
 * reuses them. The WAL holds the inserted rows (and full-page images) until
 * its segments are recycled after checkpoints, and archived WAL, replicas
 * and base backups keep them as long as they are kept. Running VACUUM
 * here would not change any of that, needs to run outside a transaction
 * and is autovacuum's job.
 *
 * Erasure on PostgreSQL is therefore logical: the rows are gone for every
 * query, and physical removal is a matter of storage encryption, WAL
 * archive and backup retention (docs/DEPLOY.md). */
static avrr_err pgs_compact(avrr_store *base, avrr_error *e)
{
    (void)base;
    (void)e;
    return AVRR_OK;
}

/* ---- identity scan and counts ------------------------------------------------------- */

typedef struct scan_item {
    avrr_identity id;
    char tenant[17];
} scan_item;

static avrr_err pgs_identity_scan(avrr_store *base, int64_t after_id,
                                  avrr_identity_cb cb, void *arg,
                                  avrr_error *e)
{
    pg_store *s = pg(base);
    scan_item *batch = avrr_calloc(SCAN_BATCH, sizeof *batch);
    avrr_identity **ptrs = avrr_calloc(SCAN_BATCH, sizeof *ptrs);
    PGresult *res = NULL;
    size_t len = 0;
    avrr_err result = AVRR_OK;

    if (batch == NULL || ptrs == NULL) {
        result = no_memory(e);
        goto out;
    }
    for (;;) {
        pq_params p = {0}, q = {0};

        p_int(&p, after_id);
        p_int(&p, SCAN_BATCH);
        result = pq_run(s, ST_IDENTITY_SCAN, &p, &res, NULL,
                        "scanning identities", e);
        if (result != AVRR_OK)
            goto out;
        for (int i = 0; i < PQntuples(res) && len < SCAN_BATCH; i++) {
            scan_item *it = &batch[len++];
            ptrs[len - 1] = &it->id;
            result = read_identity(s, res, i, &it->id, e);
            if (result == AVRR_OK)
                result = col_fixed(s, res, i, 15, it->tenant,
                                   sizeof it->tenant, "tenant", e);
            if (result != AVRR_OK)
                goto out;
        }
        PQclear(res);
        res = NULL;
        if (len == 0)
            break;
        /* The documents of the whole batch in one query. */
        p_int(&q, after_id);
        p_int(&q, batch[len - 1].id.id);
        result = pq_run(s, ST_DOCUMENTS_RANGE, &q, &res, NULL,
                        "scanning documents", e);
        if (result == AVRR_OK)
            result = spread_documents(s, res, ptrs, len, e);
        PQclear(res);
        res = NULL;
        if (result != AVRR_OK)
            goto out;
        for (size_t i = 0; i < len; i++) {
            int stop = cb(arg, batch[i].tenant, &batch[i].id);
            if (stop != 0) {
                result = (avrr_err)stop;
                goto out;
            }
        }
        after_id = batch[len - 1].id.id;
        for (size_t i = 0; i < len; i++) {
            avrr_identity_clear(&batch[i].id);
            memset(&batch[i], 0, sizeof batch[i]);
        }
        if (len < SCAN_BATCH) {
            len = 0;
            break;
        }
        len = 0;
    }
out:
    PQclear(res);
    for (size_t i = 0; batch != NULL && i < len; i++)
        avrr_identity_clear(&batch[i].id);
    avrr_free(batch);
    avrr_free(ptrs);
    return result;
}

static avrr_err pgs_count(avrr_store *base, const char *table, int64_t *out,
                          avrr_error *e)
{
    *out = 0;
    for (size_t i = 0; table != NULL &&
                       i < sizeof count_tables / sizeof count_tables[0];
         i++) {
        if (strcmp(table, count_tables[i].table) == 0)
            return query_int(pg(base), count_tables[i].stmt, NULL, out,
                             "counting rows", e);
    }
    return avrr_error_set(e, AVRR_EINVALID, "table", "cannot count table %s",
                          table != NULL ? table : "(null)");
}

static avrr_err pgs_rekey(avrr_store *base, const char *new_key_path,
                          int64_t *n_values, avrr_error *e)
{
    (void)base;
    (void)new_key_path;
    if (n_values != NULL)
        *n_values = 0;
    return avrr_error_set(e, AVRR_EINVALID, "data_key",
                          "PostgreSQL registries are not encrypted by avrr "
                          "(yet)");
}

static avrr_err pgs_person_flags(avrr_store *base, int64_t person_id,
                                 bool *restricted, bool *erased, bool *red_link,
                                 avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    *restricted = *erased = *red_link = false;
    p_int(&p, person_id);
    result = pq_run(s, ST_PERSON_FLAGS, &p, &res, NULL, "reading a person",
                    e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, NULL, "no person %lld",
                                (long long)person_id);
    if (result == AVRR_OK) {
        *restricted = col_int(res, 0, 0) != 0;
        *red_link = col_int(res, 0, 1) != 0;
        *erased = col_int(res, 0, 2) != 0;
    }
    PQclear(res);
    return result;
}

/* One query for all persons: ids go as one array parameter ("{1,2,3}"). */
static avrr_err pgs_person_facts_many(avrr_store *base, const char *tenant,
                                      const int64_t *ids, size_t n,
                                      avrr_person_facts *out, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    char *list = NULL;
    size_t len = 0, cap = 2 + n * 21;
    avrr_err result = AVRR_OK;

    memset(out, 0, n * sizeof *out);
    if (n == 0)
        return AVRR_OK;
    list = avrr_malloc(cap);
    if (list == NULL)
        return no_memory(e);
    list[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(list + len, cap - len, "%s%lld",
                                i ? "," : "", (long long)ids[i]);
    snprintf(list + len, cap - len, "}");
    p_text(&p, list);
    p_text(&p, tenant != NULL ? tenant : "");
    result = pq_run(s, ST_PERSON_FACTS, &p, &res, NULL, "reading persons", e);
    for (int r = 0; result == AVRR_OK && r < PQntuples(res); r++) {
        int64_t id = col_int(res, r, 13);
        for (size_t i = 0; result == AVRR_OK && i < n; i++) {
            avrr_person_facts *f = &out[i];
            if (ids[i] != id)
                continue;
            f->found = true;
            f->restricted = col_int(res, r, 14) != 0;
            f->red_link = col_int(res, r, 15) != 0;
            f->erased = col_int(res, r, 16) != 0;
            if (PQgetisnull(res, r, 0))
                continue;
            /* Rows come in id order: the array grows by one per row. */
            avrr_assistance *grown = avrr_realloc(
                f->assistance, (f->n_assistance + 1) * sizeof *grown);
            if (grown == NULL) {
                result = no_memory(e);
                break;
            }
            f->assistance = grown;
            memset(&grown[f->n_assistance], 0, sizeof *grown);
            result = read_assistance(s, res, r, &grown[f->n_assistance++], e);
            if (result == AVRR_OK)
                result = col_str(res, r, 12,
                                 &grown[f->n_assistance - 1].programme, e);
        }
    }
    PQclear(res);
    avrr_free(list);
    if (result != AVRR_OK) {
        for (size_t i = 0; i < n; i++)
            avrr_store_free_assistance(out[i].assistance,
                                       out[i].n_assistance);
        memset(out, 0, n * sizeof *out);
    }
    return result;
}

static avrr_err pgs_backup(avrr_store *base, const char *path, avrr_error *e)
{
    (void)base;
    (void)path;
    return avrr_error_set(e, AVRR_EINVALID, "db",
                          "a PostgreSQL registry is backed up with PostgreSQL's own tools: "
                          "pg_dump --format=custom (see docs/DEPLOY.md)");
}

/* Statistics: one row per case and grant, read in one result (the
 * aggregation happens in the service; the rows hold no personal data). */
static avrr_err pgs_stats_scan(avrr_store *base, const char *tenant,
                               int (*cb)(void *arg, const avrr_stats_row *r),
                               void *arg, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    p_code(&p, tenant);
    avrr_err result = pq_run(s, ST_STATS_SCAN, &p, &res, NULL, "reading statistics", e);
    int n = result == AVRR_OK ? PQntuples(res) : 0;
    for (int row = 0; result == AVRR_OK && row < n; row++) {
        avrr_stats_row r;
        int rt = 0, cs = 0;
        memset(&r, 0, sizeof r);
        r.kind = r.funding = r.assistance_status = -1;
        result = col_fixed(s, res, row, 0, r.tenant, sizeof r.tenant, "tenant", e);
        r.person_id = col_int(res, row, 1);
        r.case_id = col_int(res, row, 2);
        if (result == AVRR_OK)
            result = col_fixed(s, res, row, 3, r.destination, sizeof r.destination,
                               "destination", e);
        if (result == AVRR_OK)
            result = col_enum(s, res, row, 4, avrr_return_type_parse, &rt, "return type", e);
        if (result == AVRR_OK)
            result = col_enum(s, res, row, 5, avrr_case_status_parse, &cs, "case status", e);
        if (result == AVRR_OK)
            result = col_date(s, res, row, 6, &r.opened_on, "opened_on", e);
        if (result == AVRR_OK && !PQgetisnull(res, row, 7)) {
            result = col_enum(s, res, row, 7, avrr_assistance_kind_parse, &r.kind,
                              "assistance kind", e);
            r.amount_cents = col_int(res, row, 8);
            r.cash = col_int(res, row, 9) != 0;
            if (result == AVRR_OK)
                result = col_enum(s, res, row, 10, avrr_funding_parse, &r.funding, "funding", e);
            if (result == AVRR_OK)
                result = col_date(s, res, row, 11, &r.granted_on, "granted_on", e);
            if (result == AVRR_OK)
                result = col_enum(s, res, row, 12, avrr_assistance_status_parse,
                                  &r.assistance_status, "assistance status", e);
        }
        r.return_type = (avrr_return_type)rt;
        r.status = (avrr_case_status)cs;
        if (result == AVRR_OK && cb(arg, &r) != 0)
            break;
    }
    PQclear(res);
    return result;
}

static avrr_err pgs_link_stats(avrr_store *base, const char *tenant,
                               int64_t counts[AVRR_LINK__COUNT],
                               int64_t *red_persons,
                               int64_t *red_amount_cents, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    for (int i = 0; i < AVRR_LINK__COUNT; i++)
        counts[i] = 0;
    *red_persons = *red_amount_cents = 0;
    p_code(&p, tenant);
    avrr_err result = pq_run(s, ST_LINK_STATS, &p, &res, NULL, "counting links", e);
    for (int row = 0; result == AVRR_OK && row < PQntuples(res); row++) {
        int status = 0;
        result = col_enum(s, res, row, 0, avrr_link_status_parse, &status, "link status", e);
        if (result == AVRR_OK)
            counts[status] = col_int(res, row, 1);
    }
    PQclear(res);
    res = NULL;
    if (result == AVRR_OK)
        result = pq_run(s, ST_RED_STATS, &p, &res, NULL, "counting red links", e);
    if (result == AVRR_OK && PQntuples(res) == 1) {
        *red_persons = col_int(res, 0, 0);
        *red_amount_cents = col_int(res, 0, 1);
    }
    PQclear(res);
    return result;
}

/* ---- the return process (schema version 4) -------------------------------- */

/* Reads row `row` of a return-process list into item (zeroed). */
typedef avrr_err (*pg_row_fn)(pg_store *s, const PGresult *r, int row,
                              void *item, avrr_error *e);

/* The rows of statement `id` ($1 case_id, $2 tenant) for a case of
 * `tenant`: ENOTFOUND when the case is not the tenant's, so that a list
 * never tells whether another tenant's case exists. */
static avrr_err case_rows(pg_store *s, enum stmt_id id, const char *tenant,
                          int64_t case_id, size_t size, pg_row_fn read,
                          void (*free_arr)(void *arr, size_t n), void **out,
                          size_t *n, const char *what, avrr_error *e)
{
    PGresult *res = NULL;
    char *arr = NULL;
    pq_params p = {0};
    size_t len = 0;
    bool owned = false;
    avrr_err result;

    *out = NULL;
    *n = 0;
    result = owned_by(s, ST_CASE_OWNED, case_id, tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "case_id", "no case %lld",
                                (long long)case_id);
    if (result != AVRR_OK)
        return result;
    p_int(&p, case_id);
    p_text(&p, tenant != NULL ? tenant : "");
    result = pq_run(s, id, &p, &res, NULL, what, e);
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), size);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++)
        result = read(s, res, i, arr + size * len++, e);
out:
    PQclear(res);
    if (result != AVRR_OK) {
        free_arr(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

/* INSERT ... RETURNING into a table of the return process after checking
 * that the case is `tenant`'s; writes back the new id. */
static avrr_err case_row_insert(pg_store *s, enum stmt_id id,
                                const pq_params *p, int64_t case_id,
                                const char *tenant, int64_t *id_out,
                                const char *what, avrr_error *e)
{
    bool owned = false;
    write_scope w;
    avrr_err result = scope_begin(s, &w, true, e);

    *id_out = 0;
    if (result != AVRR_OK)
        return result;
    result = owned_by(s, ST_CASE_OWNED, case_id, tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "case_id", "no case %lld",
                                (long long)case_id);
    if (result == AVRR_OK)
        result = insert_id(s, id, p, id_out, NULL, what, e);
    return scope_end(s, &w, result, e);
}

static avrr_err pgs_counselling_insert(avrr_store *base, avrr_counselling *c,
                                       avrr_error *e)
{
    char held[11];
    int64_t now = now_seconds();
    pq_params p = {0};
    avrr_err result;

    avrr_date_format(&c->held_on, held);
    p_text(&p, c->tenant);
    p_int(&p, c->case_id);
    p_text(&p, c->recorded_by);
    p_text(&p, held);
    p_text(&p, c->counsellor);
    p_text(&p, c->outcome);
    p_int(&p, now);
    result = case_row_insert(pg(base), ST_COUNSEL_INSERT, &p, c->case_id,
                             c->tenant, &c->id, "counselling", e);
    c->created_at = result == AVRR_OK ? now : 0;
    return result;
}

static avrr_err read_counselling(pg_store *s, const PGresult *r, int row,
                                 void *item, avrr_error *e)
{
    avrr_counselling *c = item;
    avrr_err result;

    c->id = col_int(r, row, 0);
    c->case_id = col_int(r, row, 1);
    c->created_at = col_int(r, row, 7);
    result = col_fixed(s, r, row, 2, c->tenant, sizeof c->tenant, "tenant",
                       e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 3, c->recorded_by,
                           sizeof c->recorded_by, "tenant", e);
    if (result == AVRR_OK)
        result = col_date(s, r, row, 4, &c->held_on, "counselling date", e);
    if (result == AVRR_OK)
        result = col_str(r, row, 5, &c->counsellor, e);
    if (result == AVRR_OK)
        result = col_str(r, row, 6, &c->outcome, e);
    return result;
}

static void free_counselling(void *arr, size_t n)
{
    avrr_store_free_counselling(arr, n);
}

static avrr_err pgs_counselling_list(avrr_store *base, const char *tenant,
                                     int64_t case_id, avrr_counselling **out,
                                     size_t *n, avrr_error *e)
{
    return case_rows(pg(base), ST_COUNSEL_LIST, tenant, case_id,
                     sizeof **out, read_counselling, free_counselling,
                     (void **)out, n, "listing counselling", e);
}

static avrr_err pgs_referral_insert(avrr_store *base, avrr_referral *r,
                                    avrr_error *e)
{
    int64_t now = now_seconds();
    pq_params p = {0};
    avrr_err result;

    p_text(&p, r->tenant);
    p_int(&p, r->case_id);
    p_text(&p, r->partner);
    p_int(&p, now);
    /* An unknown partner fails the foreign key: ENOTFOUND. */
    result = case_row_insert(pg(base), ST_REFERRAL_INSERT, &p, r->case_id,
                             r->tenant, &r->id, "referral", e);
    if (result == AVRR_ENOTFOUND && e != NULL &&
        strcmp(e->field, "case_id") != 0)
        avrr_error_set(e, AVRR_ENOTFOUND, "partner", "no tenant %s",
                       r->partner);
    if (result == AVRR_OK) {
        r->created_at = now;
        r->status = AVRR_REFERRAL_PENDING;
    }
    return result;
}

static avrr_err read_referral(pg_store *s, const PGresult *r, int row,
                              void *item, avrr_error *e)
{
    avrr_referral *f = item;
    int status = 0;
    avrr_err result;

    f->id = col_int(r, row, 0);
    f->case_id = col_int(r, row, 1);
    f->decided_key_id = col_int(r, row, 6);
    f->decided_at = col_int(r, row, 7);
    f->created_at = col_int(r, row, 8);
    result = col_fixed(s, r, row, 2, f->tenant, sizeof f->tenant, "tenant",
                       e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 3, f->partner, sizeof f->partner,
                           "partner", e);
    if (result == AVRR_OK)
        result = col_enum(s, r, row, 4, avrr_referral_status_parse, &status,
                          "referral status", e);
    if (result == AVRR_OK)
        result = col_str(r, row, 5, &f->reason, e);
    f->status = (avrr_referral_status)status;
    return result;
}

static avrr_err pgs_referral_get(avrr_store *base, const char *tenant,
                                 int64_t id, avrr_referral *out,
                                 avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    memset(out, 0, sizeof *out);
    p_int(&p, id);
    p_text(&p, tenant != NULL ? tenant : "");
    result = pq_run(s, ST_REFERRAL_GET, &p, &res, NULL,
                    "reading the referral", e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no referral %lld",
                                (long long)id);
    if (result == AVRR_OK)
        result = read_referral(s, res, 0, out, e);
    PQclear(res);
    if (result != AVRR_OK)
        avrr_referral_clear(out);
    return result;
}

static avrr_err pgs_referral_list(avrr_store *base, const char *tenant,
                                  int status, int64_t after, size_t limit,
                                  avrr_referral **out, size_t *n,
                                  avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    avrr_referral *arr = NULL;
    pq_params p = {0};
    size_t len = 0;
    avrr_err result;

    *out = NULL;
    *n = 0;
    p_text(&p, tenant != NULL ? tenant : "");
    p_text(&p, status >= 0 ? avrr_referral_status_name(status) : NULL);
    p_int(&p, after);
    p_int(&p, (int64_t)clamp_limit(limit));
    result = pq_run(s, ST_REFERRAL_LIST, &p, &res, NULL, "listing referrals",
                    e);
    if (result != AVRR_OK)
        goto out;
    arr = new_array((size_t)PQntuples(res), sizeof *arr);
    if (arr == NULL && PQntuples(res) > 0) {
        result = no_memory(e);
        goto out;
    }
    for (int i = 0; result == AVRR_OK && i < PQntuples(res); i++)
        result = read_referral(s, res, i, &arr[len++], e);
out:
    PQclear(res);
    if (result != AVRR_OK) {
        avrr_store_free_referrals(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err pgs_referral_decide(avrr_store *base, avrr_referral *r,
                                    avrr_error *e)
{
    const char *status = avrr_referral_status_name((int)r->status);
    int64_t now = now_seconds(), changed = 0;
    pq_params p = {0};
    avrr_err result;

    if (status == NULL || r->status == AVRR_REFERRAL_PENDING)
        return avrr_error_set(e, AVRR_EINVALID, "decision",
                              "a decision accepts or declines");
    p_int(&p, r->id);
    p_text(&p, status);
    p_text(&p, r->reason);
    p_ref(&p, r->decided_key_id);
    p_int(&p, now);
    p_text(&p, r->partner);
    result = write1(pg(base), ST_REFERRAL_DECIDE, &p, &changed, NULL, NULL,
                    "referral", e);
    /* The update names the pending state: a second decision changes
     * nothing and is a conflict, not a silent overwrite. */
    if (result == AVRR_OK && changed == 0)
        result = avrr_error_set(e, AVRR_ECONFLICT, "id",
                                "referral %lld is no longer pending",
                                (long long)r->id);
    if (result == AVRR_OK)
        r->decided_at = now;
    return result;
}

static avrr_err pgs_referral_access(avrr_store *base, const char *partner,
                                    int64_t case_id, int64_t person_id,
                                    char owner[static 17], avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    owner[0] = '\0';
    p_int(&p, case_id > 0 ? case_id : person_id);
    p_text(&p, partner != NULL ? partner : "");
    result = pq_run(s,
                    case_id > 0 ? ST_REFERRAL_ACCESS_CASE
                                : ST_REFERRAL_ACCESS_PERSON,
                    &p, &res, NULL, "reading referrals", e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id",
                                "no accepted referral");
    if (result == AVRR_OK)
        result = col_fixed(s, res, 0, 0, owner, 17, "tenant", e);
    PQclear(res);
    return result;
}

static avrr_err pgs_plan_put(avrr_store *base, avrr_plan *pl, avrr_error *e)
{
    int64_t now = now_seconds(), ignored = 0;
    pq_params p = {0};
    avrr_err result;

    p_int(&p, pl->case_id);
    p_text(&p, pl->tenant);
    p_text(&p, pl->recorded_by);
    p_text(&p, pl->components);
    p_text(&p, pl->amounts_json != NULL ? pl->amounts_json : "[]");
    p_int(&p, now);
    result = case_row_insert(pg(base), ST_PLAN_PUT, &p, pl->case_id,
                             pl->tenant, &ignored, "plan", e);
    pl->updated_at = result == AVRR_OK ? now : 0;
    return result;
}

static avrr_err pgs_plan_get(avrr_store *base, const char *tenant,
                             int64_t case_id, avrr_plan *out, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    avrr_err result;

    memset(out, 0, sizeof *out);
    p_int(&p, case_id);
    p_text(&p, tenant != NULL ? tenant : "");
    result = pq_run(s, ST_PLAN_GET, &p, &res, NULL, "reading the plan", e);
    if (result == AVRR_OK && PQntuples(res) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "case_id",
                                "no plan for case %lld", (long long)case_id);
    if (result == AVRR_OK) {
        out->case_id = col_int(res, 0, 0);
        out->updated_at = col_int(res, 0, 5);
        result = col_fixed(s, res, 0, 1, out->tenant, sizeof out->tenant,
                           "tenant", e);
    }
    if (result == AVRR_OK)
        result = col_fixed(s, res, 0, 2, out->recorded_by,
                           sizeof out->recorded_by, "tenant", e);
    if (result == AVRR_OK)
        result = col_str(res, 0, 3, &out->components, e);
    if (result == AVRR_OK)
        result = col_str(res, 0, 4, &out->amounts_json, e);
    PQclear(res);
    if (result != AVRR_OK)
        avrr_plan_clear(out);
    return result;
}

static avrr_err pgs_follow_up_insert(avrr_store *base, avrr_follow_up *f,
                                     avrr_error *e)
{
    char visited[11];
    int64_t now = now_seconds();
    pq_params p = {0};
    avrr_err result;

    avrr_date_format(&f->visited_on, visited);
    p_text(&p, f->tenant);
    p_int(&p, f->case_id);
    p_text(&p, f->recorded_by);
    p_text(&p, visited);
    p_double(&p, f->economic);
    p_double(&p, f->social);
    p_double(&p, f->psychosocial);
    p_text(&p, f->note);
    p_int(&p, now);
    result = case_row_insert(pg(base), ST_FOLLOW_UP_INSERT, &p, f->case_id,
                             f->tenant, &f->id, "follow-up", e);
    f->created_at = result == AVRR_OK ? now : 0;
    return result;
}

static avrr_err read_follow_up(pg_store *s, const PGresult *r, int row,
                               void *item, avrr_error *e)
{
    avrr_follow_up *f = item;
    avrr_err result;

    f->id = col_int(r, row, 0);
    f->case_id = col_int(r, row, 1);
    f->economic = col_double(r, row, 5);
    f->social = col_double(r, row, 6);
    f->psychosocial = col_double(r, row, 7);
    f->created_at = col_int(r, row, 9);
    result = col_fixed(s, r, row, 2, f->tenant, sizeof f->tenant, "tenant",
                       e);
    if (result == AVRR_OK)
        result = col_fixed(s, r, row, 3, f->recorded_by,
                           sizeof f->recorded_by, "tenant", e);
    if (result == AVRR_OK)
        result = col_date(s, r, row, 4, &f->visited_on, "visit date", e);
    if (result == AVRR_OK)
        result = col_str(r, row, 8, &f->note, e);
    return result;
}

static void free_follow_ups(void *arr, size_t n)
{
    avrr_store_free_follow_ups(arr, n);
}

static avrr_err pgs_follow_up_list(avrr_store *base, const char *tenant,
                                   int64_t case_id, avrr_follow_up **out,
                                   size_t *n, avrr_error *e)
{
    return case_rows(pg(base), ST_FOLLOW_UP_LIST, tenant, case_id,
                     sizeof **out, read_follow_up, free_follow_ups,
                     (void **)out, n, "listing follow-ups", e);
}

/* Follow-ups for statistics: no free text, no names. */
static avrr_err pgs_follow_up_scan(avrr_store *base, const char *tenant,
                                   int (*cb)(void *arg, int64_t person_id,
                                             const avrr_follow_up *f),
                                   void *arg, avrr_error *e)
{
    pg_store *s = pg(base);
    PGresult *res = NULL;
    pq_params p = {0};
    p_code(&p, tenant);
    avrr_err result = pq_run(s, ST_FOLLOW_UP_SCAN, &p, &res, NULL,
                             "reading follow-ups", e);
    int n = result == AVRR_OK ? PQntuples(res) : 0;
    for (int row = 0; result == AVRR_OK && row < n; row++) {
        avrr_follow_up f;
        memset(&f, 0, sizeof f);
        result = col_fixed(s, res, row, 0, f.tenant, sizeof f.tenant, "tenant",
                           e);
        f.case_id = col_int(res, row, 2);
        f.economic = col_double(res, row, 4);
        f.social = col_double(res, row, 5);
        f.psychosocial = col_double(res, row, 6);
        if (result == AVRR_OK)
            result = col_date(s, res, row, 3, &f.visited_on, "visit date", e);
        if (result == AVRR_OK && cb(arg, col_int(res, row, 1), &f) != 0)
            break;
    }
    PQclear(res);
    return result;
}

static const avrr_store_ops postgres_ops = {
    .name = "postgresql",
    .concurrent_writers = true,
    .close = pg_close,
    .begin = pgs_begin,
    .commit = pgs_commit,
    .rollback = pgs_rollback,
    .tenant_insert = pgs_tenant_insert,
    .tenant_get = pgs_tenant_get,
    .tenant_list = pgs_tenant_list,
    .key_insert = pgs_key_insert,
    .key_find = pgs_key_find,
    .key_revoke = pgs_key_revoke,
    .key_list = pgs_key_list,
    .person_insert = pgs_person_insert,
    .person_insert_many = pgs_person_insert_many,
    .bulk_begin = pgs_bulk_begin,
    .bulk_end = pgs_bulk_end,
    .identity_insert = pgs_identity_insert,
    .person_get = pgs_person_get,
    .person_list = pgs_person_list,
    .case_insert = pgs_case_insert,
    .case_get = pgs_case_get,
    .case_list = pgs_case_list,
    .case_update = pgs_case_update,
    .assistance_insert = pgs_assistance_insert,
    .assistance_list = pgs_assistance_list,
    .identity_scan = pgs_identity_scan,
    .tenant_update = pgs_tenant_update,
    .meta_get = pgs_meta_get,
    .meta_set = pgs_meta_set,
    .person_get_any = pgs_person_get_any,
    .person_assistance = pgs_person_assistance,
    .check_insert = pgs_check_insert,
    .check_get = pgs_check_get,
    .link_insert = pgs_link_insert,
    .link_insert_many = pgs_link_insert_many,
    .check_insert_links = pgs_check_insert_links,
    .round_trips = pgs_round_trips,
    .link_get = pgs_link_get,
    .link_list = pgs_link_list,
    .links_of_person = pgs_links_of_person,
    .link_pair_lock = pgs_link_pair_lock,
    .link_resolve = pgs_link_resolve,
    .disclosure_insert = pgs_disclosure_insert,
    .disclosure_get = pgs_disclosure_get,
    .disclosure_list = pgs_disclosure_list,
    .disclosure_decide = pgs_disclosure_decide,
    .audit_append = pgs_audit_append,
    .audit_append_many = pgs_audit_append_many,
    .audit_scan = pgs_audit_scan,
    .audit_list = pgs_audit_list,
    .audit_anchor = pgs_audit_anchor,
    .audit_purge = pgs_audit_purge,
    .audit_checkpoint_insert = pgs_audit_checkpoint_insert,
    .audit_checkpoint_list = pgs_audit_checkpoint_list,
    .identity_rectify = pgs_identity_rectify,
    .identity_history = pgs_identity_history,
    .person_erase = pgs_person_erase,
    .person_set_restricted = pgs_person_set_restricted,
    .persons_due = pgs_persons_due,
    .checks_forget = pgs_checks_forget,
    .compact = pgs_compact,
    .count = pgs_count,
    .rekey = pgs_rekey,
    .stats_scan = pgs_stats_scan,
    .link_stats = pgs_link_stats,
    .person_flags = pgs_person_flags,
    .person_facts_many = pgs_person_facts_many,
    .backup = pgs_backup,
    .counselling_insert = pgs_counselling_insert,
    .counselling_list = pgs_counselling_list,
    .referral_insert = pgs_referral_insert,
    .referral_get = pgs_referral_get,
    .referral_list = pgs_referral_list,
    .referral_decide = pgs_referral_decide,
    .referral_access = pgs_referral_access,
    .plan_put = pgs_plan_put,
    .plan_get = pgs_plan_get,
    .follow_up_insert = pgs_follow_up_insert,
    .follow_up_list = pgs_follow_up_list,
    .follow_up_scan = pgs_follow_up_scan,
};
