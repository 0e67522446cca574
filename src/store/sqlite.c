/* src/store/sqlite.c: the SQLite backend of the store (DESIGN.md section 4).
 *
 * One registry is one SQLite file in WAL mode. At open we check that the file
 * is an avrr registry (the avrr_meta table says application = 'avrr'), refuse
 * one made by a newer avrr (PRAGMA user_version above AVRR_SCHEMA_VERSION)
 * and apply the pending numbered migrations of `migrations[]` in one
 * transaction.
 *
 * Every statement is prepared once (SQLITE_PREPARE_PERSISTENT) on first use,
 * kept in the backend struct and reset after each use; no SQL is ever built
 * from input. Enumerations are stored as their wire names and dates as their
 * canonical text, so that the database reads well with the sqlite3 shell.
 * SQLite result codes become avrr_err in one place, sq_error().
 *
 * Writes that take several statements run inside a savepoint (or their own
 * BEGIN IMMEDIATE transaction when the caller has none open), so that a
 * failure halfway leaves nothing behind.
 *
 * Encryption at rest (crypt.h): in a registry created with a data key, the
 * personal columns (identities: names, birth date, birth place, address,
 * national and Eurodac references; documents.number;
 * identity_history.old_json; checks.request_json) hold sealed BLOBs.
 * bind_secret() seals on the way in and col_secret() opens on the way out,
 * so the rest of this file sees plaintext. No statement searches those
 * columns (matching runs in memory over identity_scan), so no blind index is
 * needed. avrr_meta records 'data_encryption', 'data_key_id' and
 * 'data_key_check' (a sealed constant that proves the key), never the key.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>
#include <fcntl.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store/crypt.h"
#include "store/store.h"

/* How long a writer waits for another process's lock before failing with
 * "database is locked": long enough to ride out a checkpoint or a batch
 * import's commit, short enough that an HTTP request does not hang. */
#define BUSY_TIMEOUT_MS 5000

/* The most rows one list call returns; callers page with `after`. Large
 * enough for a screenful of work, small enough to bound one response. */
#define LIST_LIMIT_MAX AVRR_STORE_LIST_MAX

/* identity_scan reads this many identities, releases its statement and only
 * then calls back, so that callbacks may use the store and no read
 * transaction stays open for the whole scan. */
#define SCAN_BATCH 256

/* rekey re-seals this many rows at a time: it reads a batch, releases the
 * statement, then updates, so that no updated row comes back to the read. */
#define REKEY_BATCH 256

/* What avrr_meta says about encryption (see the top of the file). */
#define META_ENCRYPTION "data_encryption"
#define META_KEY_ID "data_key_id"
#define META_KEY_CHECK "data_key_check"
#define ENCRYPTION_NAME "xchacha20poly1305-ietf-v1"
/* The plaintext sealed as 'data_key_check'. */
#define KEY_CHECK_TEXT "avrr data key check"

/* ---- schema ---------------------------------------------------------------- */

/* Migration N (1-based) takes a registry from schema version N-1 to N. Never
 * edit a migration once released: add one. Its number is recorded in
 * PRAGMA user_version in the same transaction. */
static const char *const migrations[] = {
    /* 1: the initial schema. */
    "CREATE TABLE avrr_meta (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ");\n"
    "INSERT INTO avrr_meta (key, value) VALUES ('application', 'avrr'),\n"
    "  ('created_at', CAST(strftime('%s', 'now') AS TEXT));\n"
    "CREATE TABLE tenants (\n"
    "  code TEXT PRIMARY KEY CHECK (length(code) BETWEEN 2 AND 16),\n"
    "  name TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE api_keys (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant TEXT REFERENCES tenants(code),\n"
    "  role TEXT NOT NULL CHECK (role IN ('caseworker', 'provider',\n"
    "    'statistician', 'dpo', 'admin')),\n"
    "  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),\n"
    "  label TEXT NOT NULL DEFAULT '',\n"
    "  created_at INTEGER NOT NULL,\n"
    "  revoked_at INTEGER\n"
    ");\n"
    "CREATE INDEX api_keys_tenant ON api_keys(tenant, id);\n"
    "CREATE TABLE persons (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  restricted INTEGER NOT NULL DEFAULT 0 CHECK (restricted IN (0, 1)),\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX persons_tenant ON persons(tenant, id);\n"
    /* identity_scan walks identities by id: the INTEGER PRIMARY KEY is the
     * rowid, which is that index already. */
    "CREATE TABLE identities (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,\n"
    "  given_names TEXT,\n"
    "  surname TEXT,\n"
    "  full_name TEXT,\n"
    "  sex TEXT NOT NULL DEFAULT 'u' CHECK (sex IN ('u', 'f', 'm', 'x')),\n"
    "  birth_date TEXT NOT NULL DEFAULT '',\n"
    "  birth_precision INTEGER NOT NULL DEFAULT 0\n"
    "    CHECK (birth_precision BETWEEN 0 AND 3),\n"
    "  birth_placeholder INTEGER NOT NULL DEFAULT 0\n"
    "    CHECK (birth_placeholder IN (0, 1)),\n"
    "  nationality TEXT NOT NULL DEFAULT ''\n"
    "    CHECK (length(nationality) IN (0, 3)),\n"
    "  birth_place TEXT,\n"
    "  address TEXT,\n"
    "  national_ref TEXT,\n"
    "  eurodac_ref TEXT,\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX identities_person ON identities(person_id, id);\n"
    "CREATE TABLE documents (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  identity_id INTEGER NOT NULL\n"
    "    REFERENCES identities(id) ON DELETE CASCADE,\n"
    "  type TEXT,\n"
    "  number TEXT NOT NULL CHECK (length(number) > 0),\n"
    "  country TEXT NOT NULL DEFAULT '' CHECK (length(country) IN (0, 3))\n"
    ");\n"
    "CREATE INDEX documents_identity ON documents(identity_id, id);\n"
    "CREATE TABLE cases (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  person_id INTEGER NOT NULL REFERENCES persons(id),\n"
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
    "  created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX cases_tenant ON cases(tenant, id);\n"
    "CREATE INDEX cases_person ON cases(person_id, id);\n"
    "CREATE TABLE assistance (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),\n"
    "  kind TEXT NOT NULL CHECK (kind IN ('counselling', 'travel_document',\n"
    "    'ticket', 'cash_allowance', 'post_arrival', 'reintegration_in_kind',\n"
    "    'reintegration_business', 'reintegration_housing',\n"
    "    'reintegration_education', 'reintegration_medical',\n"
    "    'reintegration_psychosocial')),\n"
    "  amount_cents INTEGER NOT NULL DEFAULT 0\n"
    "    CHECK (amount_cents BETWEEN 0 AND 100000000),\n"
    "  cash INTEGER NOT NULL DEFAULT 0 CHECK (cash IN (0, 1)),\n"
    "  provider TEXT,\n"
    "  funding TEXT NOT NULL CHECK (funding IN ('amif', 'ndici', 'ipa3',\n"
    "    'national', 'frontex')),\n"
    "  granted_on TEXT NOT NULL DEFAULT '',\n"
    "  delivered_on TEXT NOT NULL DEFAULT '',\n"
    "  status TEXT NOT NULL\n"
    "    CHECK (status IN ('granted', 'delivered', 'cancelled')),\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX assistance_case ON assistance(case_id, id);\n"
    "CREATE INDEX assistance_tenant ON assistance(tenant, id);\n",

    /* 2: tenant settings and consultation (checks, links, disclosures).
     * Persons are referenced by plain integers, without foreign keys: an
     * erased person must leave the anonymous trace of a check, link or
     * disclosure behind. Tenants are never erased and keep their keys. */
    "ALTER TABLE tenants ADD COLUMN duplicate_policy TEXT NOT NULL\n"
    "  DEFAULT 'warn' CHECK (duplicate_policy IN ('warn', 'block'));\n"
    "CREATE TABLE checks (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  key_id INTEGER,\n"
    "  purpose TEXT NOT NULL CHECK (purpose IN ('assistance_decision',\n"
    "    'return_counselling', 'identity_verification', 'case_review')),\n"
    "  person_id INTEGER,\n"
    "  request_json TEXT,\n"
    "  response_json TEXT,\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX checks_tenant ON checks(tenant, id);\n"
    /* An explicit id keeps the order of the hits through a VACUUM. */
    "CREATE TABLE check_hits (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  check_id INTEGER NOT NULL REFERENCES checks(id) ON DELETE CASCADE,\n"
    "  person_id INTEGER NOT NULL,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  person_ref TEXT NOT NULL CHECK (length(person_ref) BETWEEN 1 AND 32),\n"
    "  probability REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),\n"
    "  band TEXT NOT NULL CHECK (band IN ('strong', 'possible'))\n"
    ");\n"
    "CREATE INDEX check_hits_check ON check_hits(check_id, id);\n"
    /* check_id is informational (links also come from registrations and
     * assistance), so it is no foreign key either. */
    "CREATE TABLE links (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  person_a INTEGER,\n"
    "  tenant_a TEXT NOT NULL REFERENCES tenants(code),\n"
    "  person_b INTEGER NOT NULL,\n"
    "  tenant_b TEXT NOT NULL REFERENCES tenants(code),\n"
    "  check_id INTEGER,\n"
    "  source TEXT NOT NULL\n"
    "    CHECK (source IN ('check', 'registration', 'assistance')),\n"
    "  status TEXT NOT NULL DEFAULT 'yellow'\n"
    "    CHECK (status IN ('yellow', 'white', 'green', 'red')),\n"
    "  probability REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),\n"
    "  reason TEXT,\n"
    "  resolved_by TEXT REFERENCES tenants(code),\n"
    "  resolved_key_id INTEGER,\n"
    "  resolved_at INTEGER,\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX links_tenant_a ON links(tenant_a, status, id);\n"
    "CREATE INDEX links_tenant_b ON links(tenant_b, status, id);\n"
    "CREATE INDEX links_person_a ON links(person_a);\n"
    "CREATE INDEX links_person_b ON links(person_b);\n"
    "CREATE TABLE disclosures (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  check_id INTEGER NOT NULL REFERENCES checks(id),\n"
    "  requester TEXT NOT NULL REFERENCES tenants(code),\n"
    "  requester_key_id INTEGER,\n"
    "  owner TEXT NOT NULL REFERENCES tenants(code),\n"
    "  person_id INTEGER NOT NULL,\n"
    "  person_ref TEXT NOT NULL CHECK (length(person_ref) BETWEEN 1 AND 32),\n"
    "  reason TEXT,\n"
    "  status TEXT NOT NULL DEFAULT 'pending'\n"
    "    CHECK (status IN ('pending', 'approved', 'refused')),\n"
    "  decision_reason TEXT,\n"
    "  decided_key_id INTEGER,\n"
    "  decided_at INTEGER,\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX disclosures_requester\n"
    "  ON disclosures(requester, status, id);\n"
    "CREATE INDEX disclosures_owner ON disclosures(owner, status, id);\n",

    /* 3: privacy. Erasure marks the person (erased_at) and deletes its
     * identities; retention periods per tenant; the hash-chained audit log
     * and its signed checkpoints; the history of rectified identities.
     * audit_events has no foreign keys: the log outlives the tenants and
     * persons it names. identity_history has none to identities either:
     * erasure deletes a person's history explicitly. The retention anchor
     * of the audit chain lives in avrr_meta ('audit_anchor_seq',
     * 'audit_anchor_hash'). */
    "ALTER TABLE persons ADD COLUMN erased_at INTEGER;\n"
    "ALTER TABLE tenants ADD COLUMN retention_days INTEGER NOT NULL\n"
    "  DEFAULT 730 CHECK (retention_days >= 0);\n"
    "ALTER TABLE tenants ADD COLUMN audit_retention_days INTEGER NOT NULL\n"
    "  DEFAULT 1095 CHECK (audit_retention_days >= 0);\n"
    "CREATE TABLE audit_events (\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  ts_ms INTEGER NOT NULL,\n"
    "  key_id INTEGER NOT NULL DEFAULT 0,\n"
    "  tenant TEXT NOT NULL DEFAULT '',\n"
    "  role TEXT NOT NULL DEFAULT '',\n"
    "  action TEXT NOT NULL CHECK (length(action) > 0),\n"
    "  target_type TEXT NOT NULL DEFAULT '',\n"
    "  target_id INTEGER NOT NULL DEFAULT 0,\n"
    "  purpose TEXT NOT NULL DEFAULT '',\n"
    "  request_id TEXT NOT NULL DEFAULT '',\n"
    "  outcome TEXT NOT NULL DEFAULT '',\n"
    "  prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),\n"
    "  hash BLOB NOT NULL CHECK (length(hash) = 32)\n"
    ");\n"
    "CREATE INDEX audit_events_tenant ON audit_events(tenant, seq);\n"
    /* The same head may be signed again (by a new key, or when nothing
     * happened in between): an id of its own, not seq, is the key. */
    "CREATE TABLE audit_checkpoints (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  seq INTEGER NOT NULL CHECK (seq >= 0),\n"
    "  hash BLOB NOT NULL CHECK (length(hash) = 32),\n"
    "  ts_ms INTEGER NOT NULL,\n"
    "  public_key BLOB NOT NULL CHECK (length(public_key) = 32),\n"
    "  signature BLOB NOT NULL CHECK (length(signature) = 64)\n"
    ");\n"
    "CREATE INDEX audit_checkpoints_seq ON audit_checkpoints(seq, id);\n"
    "CREATE TABLE identity_history (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  identity_id INTEGER NOT NULL,\n"
    "  person_id INTEGER NOT NULL,\n"
    "  changed_at INTEGER NOT NULL,\n"
    "  key_id INTEGER,\n"
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
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),\n"
    "  recorded_by TEXT NOT NULL REFERENCES tenants(code),\n"
    "  held_on TEXT NOT NULL DEFAULT '',\n"
    "  counsellor TEXT NOT NULL,\n"
    "  outcome TEXT,\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX counselling_case ON counselling(case_id, id);\n"
    "CREATE TABLE referrals (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),\n"
    "  partner TEXT NOT NULL REFERENCES tenants(code),\n"
    "  status TEXT NOT NULL DEFAULT 'pending'\n"
    "    CHECK (status IN ('pending', 'accepted', 'declined')),\n"
    "  reason TEXT,\n"
    "  decided_key_id INTEGER,\n"
    "  decided_at INTEGER,\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX referrals_tenant ON referrals(tenant, id);\n"
    "CREATE INDEX referrals_partner ON referrals(partner, status, id);\n"
    "CREATE INDEX referrals_case ON referrals(case_id, partner);\n"
    "CREATE TABLE plans (\n"
    "  case_id INTEGER PRIMARY KEY REFERENCES cases(id),\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  recorded_by TEXT NOT NULL REFERENCES tenants(code),\n"
    "  components TEXT,\n"
    "  amounts TEXT NOT NULL DEFAULT '[]',\n"
    "  updated_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE follow_ups (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  tenant TEXT NOT NULL REFERENCES tenants(code),\n"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),\n"
    "  recorded_by TEXT NOT NULL REFERENCES tenants(code),\n"
    "  visited_on TEXT NOT NULL DEFAULT '',\n"
    "  economic REAL NOT NULL CHECK (economic BETWEEN 0 AND 1),\n"
    "  social REAL NOT NULL CHECK (social BETWEEN 0 AND 1),\n"
    "  psychosocial REAL NOT NULL CHECK (psychosocial BETWEEN 0 AND 1),\n"
    "  note TEXT,\n"
    "  created_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX follow_ups_case ON follow_ups(case_id, id);\n",

    /* 5: a person's red links counted on the person row, kept by triggers
     * on links (see postgres.c): the red-link flag of a check's hits reads
     * the person row instead of searching links. Partial indexes on the
     * red links for the red-link statistics. */
    "ALTER TABLE persons ADD COLUMN red_links INTEGER NOT NULL DEFAULT 0\n"
    "  CHECK (red_links >= 0);\n"
    "CREATE INDEX links_red_a ON links(person_a) WHERE status = 'red';\n"
    "CREATE INDEX links_red_b ON links(person_b) WHERE status = 'red';\n"
    "UPDATE persons SET red_links = (SELECT count(*) FROM links\n"
    "  WHERE status = 'red' AND (person_a = persons.id\n"
    "  OR person_b = persons.id))\n"
    "  WHERE id IN (SELECT person_a FROM links WHERE status = 'red'\n"
    "  UNION SELECT person_b FROM links WHERE status = 'red');\n"
    "CREATE TRIGGER links_red_insert AFTER INSERT ON links\n"
    "  WHEN NEW.status = 'red' BEGIN\n"
    "  UPDATE persons SET red_links = red_links + 1\n"
    "    WHERE id IN (NEW.person_a, NEW.person_b);\n"
    "END;\n"
    "CREATE TRIGGER links_red_update\n"
    "  AFTER UPDATE OF status, person_a, person_b ON links\n"
    "  WHEN (OLD.status = 'red' OR NEW.status = 'red') AND\n"
    "    (OLD.status IS NOT NEW.status OR OLD.person_a IS NOT NEW.person_a\n"
    "    OR OLD.person_b IS NOT NEW.person_b) BEGIN\n"
    "  UPDATE persons SET red_links = red_links - 1\n"
    "    WHERE OLD.status = 'red' AND id IN (OLD.person_a, OLD.person_b);\n"
    "  UPDATE persons SET red_links = red_links + 1\n"
    "    WHERE NEW.status = 'red' AND id IN (NEW.person_a, NEW.person_b);\n"
    "END;\n"
    "CREATE TRIGGER links_red_delete AFTER DELETE ON links\n"
    "  WHEN OLD.status = 'red' BEGIN\n"
    "  UPDATE persons SET red_links = red_links - 1\n"
    "    WHERE id IN (OLD.person_a, OLD.person_b);\n"
    "END;\n",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(sizeof migrations / sizeof migrations[0] == AVRR_SCHEMA_VERSION,
               "one migration per schema version");

/* ---- statements ------------------------------------------------------------ */

/* Columns of an identity row, in the order read_identity() reads them. */
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

/* X(name, sql): every statement this backend runs, prepared on first use. */
#define STMTS(X)                                                              \
    X(BEGIN, "BEGIN IMMEDIATE")                                               \
    X(COMMIT, "COMMIT")                                                       \
    X(ROLLBACK, "ROLLBACK")                                                   \
    X(SAVEPOINT, "SAVEPOINT avrr_write")                                      \
    X(RELEASE, "RELEASE avrr_write")                                          \
    X(ROLLBACK_TO, "ROLLBACK TO avrr_write")                                  \
    X(OBJECT_COUNT, "SELECT count(*) FROM sqlite_master")                     \
    X(HAS_META, "SELECT count(*) FROM sqlite_master "                         \
                "WHERE type = 'table' AND name = 'avrr_meta'")                \
    X(META_APP, "SELECT count(*) FROM avrr_meta "                             \
                "WHERE key = 'application' AND value = 'avrr'")               \
    X(USER_VERSION, "PRAGMA user_version")                                    \
    X(JOURNAL_WAL, "PRAGMA journal_mode = WAL")                               \
    X(SYNC_NORMAL, "PRAGMA synchronous = NORMAL")                             \
    X(FOREIGN_KEYS, "PRAGMA foreign_keys = ON")                               \
    X(SECURE_DELETE, "PRAGMA secure_delete = ON")                             \
    X(TENANT_INSERT, "INSERT INTO tenants "                                   \
                     "(code, name, duplicate_policy, created_at, "            \
                     "retention_days, audit_retention_days) "                 \
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                       \
    X(TENANT_GET, "SELECT " TENANT_COLS " FROM tenants WHERE code = ?1")      \
    X(TENANT_LIST, "SELECT " TENANT_COLS " FROM tenants ORDER BY code")       \
    X(TENANT_UPDATE, "UPDATE tenants SET name = ?2, duplicate_policy = ?3, "  \
                     "retention_days = ?4, audit_retention_days = ?5 "        \
                     "WHERE code = ?1")                                       \
    X(META_GET, "SELECT value FROM avrr_meta WHERE key = ?1")                 \
    X(META_SET, "INSERT INTO avrr_meta (key, value) VALUES (?1, ?2) "         \
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value")     \
    X(KEY_INSERT, "INSERT INTO api_keys "                                     \
                  "(tenant, role, hash, label, created_at) "                  \
                  "VALUES (?1, ?2, ?3, ?4, ?5)")                              \
    X(KEY_FIND, "SELECT " KEY_COLS " FROM api_keys "                          \
                "WHERE hash = ?1 AND revoked_at IS NULL")                     \
    X(KEY_REVOKE, "UPDATE api_keys SET revoked_at = "                         \
                  "coalesce(revoked_at, ?2) WHERE id = ?1")                   \
    X(KEY_LIST, "SELECT " KEY_COLS " FROM api_keys "                          \
                "WHERE ?1 IS NULL OR tenant = ?1 ORDER BY id")                \
    X(PERSON_INSERT, "INSERT INTO persons (tenant, restricted, created_at) "  \
                     "VALUES (?1, ?2, ?3)")                                   \
    X(PERSON_OWNED, "SELECT count(*) FROM persons "                           \
                    "WHERE id = ?1 AND tenant = ?2")                          \
    X(PERSON_GET, "SELECT " PERSON_COLS " FROM persons "                      \
                  "WHERE id = ?1 AND tenant = ?2")                            \
    X(PERSON_GET_ANY, "SELECT " PERSON_COLS " FROM persons WHERE id = ?1")    \
    X(PERSON_LIST, "SELECT " PERSON_COLS " FROM persons "                     \
                   "WHERE tenant = ?1 AND id > ?2 ORDER BY id LIMIT ?3")      \
    X(IDENTITY_INSERT,                                                        \
      "INSERT INTO identities (person_id, given_names, surname, full_name, "  \
      "sex, birth_date, birth_precision, birth_placeholder, nationality, "    \
      "birth_place, address, national_ref, eurodac_ref, created_at) "         \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)") \
    X(IDENTITIES_OF, "SELECT " IDENTITY_COLS " FROM identities i "            \
                     "WHERE i.person_id = ?1 ORDER BY i.id")                  \
    X(IDENTITY_SCAN, "SELECT " IDENTITY_COLS ", p.tenant FROM identities i "  \
                     "JOIN persons p ON p.id = i.person_id "                  \
                     "WHERE i.id > ?1 ORDER BY i.id LIMIT ?2")                \
    X(DOCUMENT_INSERT, "INSERT INTO documents "                               \
                       "(identity_id, type, number, country) "                \
                       "VALUES (?1, ?2, ?3, ?4)")                             \
    X(DOCUMENTS_OF, "SELECT type, number, country FROM documents "            \
                    "WHERE identity_id = ?1 ORDER BY id")                     \
    X(CASE_INSERT,                                                            \
      "INSERT INTO cases (tenant, person_id, destination_country, "           \
      "return_type, programme, status, opened_on, closed_on, created_at, "    \
      "updated_at, adults, minors) "                                         \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)")          \
    X(CASE_OWNED, "SELECT count(*) FROM cases WHERE id = ?1 AND tenant = ?2") \
    X(CASE_GET, "SELECT " CASE_COLS " FROM cases "                            \
                "WHERE id = ?1 AND tenant = ?2")                              \
    X(CASE_LIST, "SELECT " CASE_COLS " FROM cases "                           \
                 "WHERE tenant = ?1 AND id > ?2 ORDER BY id LIMIT ?3")        \
    X(CASE_LIST_PERSON, "SELECT " CASE_COLS " FROM cases "                    \
                        "WHERE tenant = ?1 AND person_id = ?4 AND id > ?2 "   \
                        "ORDER BY id LIMIT ?3")                               \
    X(CASE_UPDATE, "UPDATE cases SET status = ?3, closed_on = ?4, "           \
                   "updated_at = ?5 WHERE id = ?1 AND tenant = ?2")           \
    X(ASSIST_INSERT,                                                          \
      "INSERT INTO assistance (tenant, case_id, kind, amount_cents, cash, "   \
      "provider, funding, granted_on, delivered_on, status, created_at) "     \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")                \
    X(ASSIST_LIST, "SELECT " ASSIST_COLS " FROM assistance a "                \
                   "WHERE a.case_id = ?1 ORDER BY a.id")                      \
    X(ASSIST_OF_PERSON, "SELECT " ASSIST_COLS ", c.programme "                \
                        "FROM assistance a JOIN cases c ON c.id = a.case_id " \
                        "WHERE c.person_id = ?1 ORDER BY a.id")               \
    X(CHECK_INSERT,                                                           \
      "INSERT INTO checks (tenant, key_id, purpose, person_id, request_json, " \
      "response_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")       \
    X(HIT_INSERT,                                                             \
      "INSERT INTO check_hits (check_id, person_id, tenant, person_ref, "     \
      "probability, band) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                   \
    X(CHECK_OWNED, "SELECT count(*) FROM checks "                             \
                   "WHERE id = ?1 AND tenant = ?2")                           \
    X(CHECK_GET, "SELECT " CHECK_COLS " FROM checks "                         \
                 "WHERE id = ?1 AND tenant = ?2")                             \
    X(HITS_OF, "SELECT person_id, tenant, person_ref, probability, band "     \
               "FROM check_hits WHERE check_id = ?1 ORDER BY id")             \
    X(LINK_INSERT,                                                            \
      "INSERT INTO links (person_a, tenant_a, person_b, tenant_b, check_id, " \
      "source, status, probability, reason, created_at) "                     \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")                     \
    X(LINK_GET, "SELECT " LINK_COLS " FROM links "                            \
                "WHERE id = ?1 AND (tenant_a = ?2 OR tenant_b = ?2)")         \
    X(LINK_LIST, "SELECT " LINK_COLS " FROM links "                           \
                 "WHERE (tenant_a = ?1 OR tenant_b = ?1) AND id > ?2 "        \
                 "ORDER BY id LIMIT ?3")                                      \
    X(LINK_LIST_STATUS, "SELECT " LINK_COLS " FROM links "                    \
                        "WHERE (tenant_a = ?1 OR tenant_b = ?1) "             \
                        "AND status = ?4 AND id > ?2 ORDER BY id LIMIT ?3")   \
    X(LINKS_OF_PERSON, "SELECT " LINK_COLS " FROM links "                     \
                       "WHERE person_a = ?1 OR person_b = ?1 ORDER BY id")    \
    /* ?2 = '': the operator, who may act on any link. */                     \
    X(LINK_PARTY, "SELECT count(*) FROM links WHERE id = ?1 AND "             \
                  "(?2 = '' OR tenant_a = ?2 OR tenant_b = ?2)")              \
    X(LINK_RESOLVE,                                                           \
      "UPDATE links SET status = ?3, reason = ?4, resolved_by = ?5, "         \
      "resolved_key_id = ?6, resolved_at = ?7 WHERE id = ?1 AND "             \
      "(?2 = '' OR tenant_a = ?2 OR tenant_b = ?2) AND status = 'yellow'")    \
    X(DISCLOSURE_INSERT,                                                      \
      "INSERT INTO disclosures (check_id, requester, requester_key_id, "      \
      "owner, person_id, person_ref, reason, status, created_at) "            \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8)")                   \
    X(DISCLOSURE_GET, "SELECT " DISCLOSURE_COLS " FROM disclosures "          \
                      "WHERE id = ?1 AND (requester = ?2 OR owner = ?2)")     \
    X(DISCLOSURE_LIST, "SELECT " DISCLOSURE_COLS " FROM disclosures "         \
                       "WHERE (requester = ?1 OR owner = ?1) AND id > ?2 "    \
                       "ORDER BY id LIMIT ?3")                                \
    X(DISCLOSURE_LIST_STATUS,                                                 \
      "SELECT " DISCLOSURE_COLS " FROM disclosures "                          \
      "WHERE (requester = ?1 OR owner = ?1) AND status = ?4 AND id > ?2 "     \
      "ORDER BY id LIMIT ?3")                                                 \
    /* Only the owner decides; ?2 = '': the operator. */                      \
    X(DISCLOSURE_OWNED, "SELECT count(*) FROM disclosures WHERE id = ?1 "     \
                        "AND (?2 = '' OR owner = ?2)")                        \
    X(DISCLOSURE_DECIDE,                                                      \
      "UPDATE disclosures SET status = ?3, decision_reason = ?4, "            \
      "decided_key_id = ?5, decided_at = ?6 WHERE id = ?1 AND "               \
      "(?2 = '' OR owner = ?2) AND status = 'pending'")                       \
    X(STATS_SCAN,                                                             \
      "SELECT c.tenant, c.person_id, c.id, c.destination_country, "           \
      "c.return_type, c.status, c.opened_on, a.kind, a.amount_cents, "        \
      "a.cash, a.funding, a.granted_on, a.status "                            \
      "FROM cases c LEFT JOIN assistance a ON a.case_id = c.id "              \
      "WHERE ?1 IS NULL OR c.tenant = ?1 ORDER BY c.id, a.id")                \
    X(LINK_STATS, "SELECT status, count(*) FROM links WHERE ?1 IS NULL "      \
                  "OR tenant_a = ?1 OR tenant_b = ?1 GROUP BY status")        \
    X(RED_STATS,                                                              \
      "WITH red AS (SELECT person_a AS p FROM links WHERE status = 'red' "    \
      "AND person_a IS NOT NULL AND (?1 IS NULL OR tenant_a = ?1 OR "         \
      "tenant_b = ?1) UNION SELECT person_b FROM links WHERE status = 'red' " \
      "AND (?1 IS NULL OR tenant_a = ?1 OR tenant_b = ?1)) "                  \
      "SELECT (SELECT count(*) FROM red), "                                   \
      "(SELECT coalesce(sum(a.amount_cents), 0) FROM assistance a "           \
      "JOIN cases c ON c.id = a.case_id WHERE a.status <> 'cancelled' "       \
      "AND c.person_id IN (SELECT p FROM red))")                              \
    X(PERSON_FLAGS,                                                           \
      "SELECT restricted, red_links > 0, erased_at IS NOT NULL "              \
      "FROM persons WHERE id = ?1")                                           \
    X(COUNT_PERSONS, "SELECT count(*) FROM persons")                          \
    X(COUNT_IDENTITIES, "SELECT count(*) FROM identities")                    \
    X(COUNT_CASES, "SELECT count(*) FROM cases")                              \
    X(COUNT_ASSISTANCE, "SELECT count(*) FROM assistance")                    \
    X(COUNT_TENANTS, "SELECT count(*) FROM tenants")                          \
    X(COUNT_API_KEYS, "SELECT count(*) FROM api_keys")                        \
    X(COUNT_CHECKS, "SELECT count(*) FROM checks")                            \
    X(COUNT_LINKS, "SELECT count(*) FROM links")                              \
    X(AUDIT_HEAD, "SELECT seq, hash FROM audit_events "                       \
                  "ORDER BY seq DESC LIMIT 1")                                \
    X(AUDIT_INSERT,                                                           \
      "INSERT INTO audit_events (" AUDIT_COLS ") "                            \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")      \
    X(AUDIT_SCAN, "SELECT " AUDIT_COLS " FROM audit_events "                  \
                  "WHERE seq > ?1 ORDER BY seq LIMIT ?2")                     \
    X(AUDIT_LIST_TENANT, "SELECT " AUDIT_COLS " FROM audit_events "           \
                         "WHERE tenant = ?1 AND seq > ?2 "                    \
                         "ORDER BY seq LIMIT ?3")                             \
    /* The newest event older than the cutoff: everything up to it goes,   \
     * so that no event older than the retention period is kept. */         \
    X(AUDIT_PURGE_LAST, "SELECT seq, hash FROM audit_events "                 \
                        "WHERE ts_ms < ?1 ORDER BY seq DESC LIMIT 1")         \
    X(AUDIT_PURGE, "DELETE FROM audit_events WHERE seq <= ?1")                \
    X(CHECKPOINT_INSERT,                                                      \
      "INSERT INTO audit_checkpoints (seq, hash, ts_ms, public_key, "         \
      "signature) VALUES (?1, ?2, ?3, ?4, ?5)")                               \
    X(CHECKPOINT_LIST, "SELECT seq, hash, ts_ms, public_key, signature "      \
                       "FROM audit_checkpoints ORDER BY seq, id")             \
    /* The person of an identity, when that person is ?2's. */              \
    X(IDENTITY_PERSON, "SELECT i.person_id FROM identities i "                \
                       "JOIN persons p ON p.id = i.person_id "                \
                       "WHERE i.id = ?1 AND p.tenant = ?2")                   \
    X(IDENTITY_UPDATE,                                                        \
      "UPDATE identities SET given_names = ?2, surname = ?3, full_name = ?4, " \
      "sex = ?5, birth_date = ?6, birth_precision = ?7, "                     \
      "birth_placeholder = ?8, nationality = ?9, birth_place = ?10, "         \
      "address = ?11, national_ref = ?12, eurodac_ref = ?13 WHERE id = ?1")   \
    X(DOCUMENTS_DELETE, "DELETE FROM documents WHERE identity_id = ?1")       \
    X(HISTORY_INSERT,                                                         \
      "INSERT INTO identity_history (identity_id, person_id, changed_at, "    \
      "key_id, old_json) VALUES (?1, ?2, ?3, ?4, ?5)")                        \
    X(HISTORY_OF, "SELECT identity_id, changed_at, key_id, old_json "         \
                  "FROM identity_history WHERE person_id = ?1 ORDER BY id")   \
    X(HISTORY_DELETE, "DELETE FROM identity_history WHERE person_id = ?1")    \
    /* Documents go with their identities (ON DELETE CASCADE). */           \
    X(IDENTITIES_DELETE, "DELETE FROM identities WHERE person_id = ?1")       \
    /* A second erasure keeps the time of the first. */                     \
    X(PERSON_ERASE, "UPDATE persons SET erased_at = coalesce(erased_at, ?2) " \
                    "WHERE id = ?1")                                          \
    X(PERSON_RESTRICT, "UPDATE persons SET restricted = ?3 "                  \
                       "WHERE id = ?1 AND tenant = ?2")                       \
    /* Partial closing dates count from the end of their year or month. */  \
    X(PERSONS_DUE,                                                            \
      "SELECT p.id FROM persons p WHERE p.tenant = ?1 "                       \
      "AND p.erased_at IS NULL "                                              \
      "AND EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id) "          \
      "AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id "       \
      "AND NOT (c.status IN ('completed', 'withdrawn', 'absconded') "         \
      "AND c.closed_on <> '' AND CASE length(c.closed_on) "                   \
      "WHEN 4 THEN c.closed_on || '-12-31' "                                  \
      "WHEN 7 THEN c.closed_on || '-31' ELSE c.closed_on END < ?2)) "         \
      "ORDER BY p.id")                                                        \
    X(CHECKS_FORGET, "UPDATE checks SET request_json = NULL "                 \
                     "WHERE created_at < ?1 AND request_json IS NOT NULL")    \
    X(WAL_CHECKPOINT, "PRAGMA wal_checkpoint(TRUNCATE)")                      \
    X(COUNT_DISCLOSURES, "SELECT count(*) FROM disclosures")                  \
    X(COUNT_AUDIT_EVENTS, "SELECT count(*) FROM audit_events")                \
    X(COUNT_IDENTITY_HISTORY, "SELECT count(*) FROM identity_history")       \
    /* rekey: id, the sealing context, then the personal columns. */        \
    X(REKEY_IDENTITIES,                                                       \
      "SELECT id, person_id, given_names, surname, full_name, birth_date, "   \
      "birth_place, address, national_ref, eurodac_ref FROM identities "      \
      "WHERE id > ?1 ORDER BY id LIMIT ?2")                                   \
    X(REKEY_IDENTITIES_SET,                                                   \
      "UPDATE identities SET given_names = ?2, surname = ?3, full_name = ?4, " \
      "birth_date = ?5, birth_place = ?6, address = ?7, national_ref = ?8, "  \
      "eurodac_ref = ?9 WHERE id = ?1")                                       \
    X(REKEY_DOCUMENTS, "SELECT id, identity_id, number FROM documents "       \
                       "WHERE id > ?1 ORDER BY id LIMIT ?2")                  \
    X(REKEY_DOCUMENTS_SET, "UPDATE documents SET number = ?2 WHERE id = ?1")  \
    X(REKEY_HISTORY, "SELECT id, person_id, old_json FROM identity_history "  \
                     "WHERE id > ?1 ORDER BY id LIMIT ?2")                    \
    X(REKEY_HISTORY_SET, "UPDATE identity_history SET old_json = ?2 "         \
                         "WHERE id = ?1")                                     \
    X(REKEY_CHECKS, "SELECT id, tenant, request_json FROM checks "            \
                    "WHERE id > ?1 ORDER BY id LIMIT ?2")                     \
    X(REKEY_CHECKS_SET, "UPDATE checks SET request_json = ?2 WHERE id = ?1")  \
    /* Erasure: the free text of the return process is about the person;      \
     * scores, amounts and dates stay as anonymous statistics. */             \
    X(ERASE_COUNSELLING,                                                      \
      "UPDATE counselling SET outcome = NULL WHERE case_id IN (SELECT "       \
      "id FROM cases WHERE person_id = ?1)")                                  \
    X(ERASE_PLANS,                                                            \
      "UPDATE plans SET components = NULL WHERE case_id IN (SELECT id "       \
      "FROM cases WHERE person_id = ?1)")                                     \
    X(ERASE_FOLLOW_UPS,                                                       \
      "UPDATE follow_ups SET note = NULL WHERE case_id IN (SELECT id "        \
      "FROM cases WHERE person_id = ?1)")                                     \
    X(ERASE_REFERRALS,                                                        \
      "UPDATE referrals SET reason = NULL WHERE case_id IN (SELECT id "       \
      "FROM cases WHERE person_id = ?1)")                                     \
    X(FOLLOW_UP_SCAN,                                                         \
      "SELECT c.tenant, c.person_id, f.case_id, f.visited_on, f.economic, "   \
      "f.social, f.psychosocial FROM follow_ups f "                           \
      "JOIN cases c ON c.id = f.case_id "                                     \
      "WHERE CAST(?1 AS TEXT) IS NULL OR c.tenant = ?1 "                      \
      "ORDER BY f.case_id, f.id")                                             \
    /* ---- the return process (schema version 4) ---- */                     \
    X(COUNSEL_INSERT,                                                         \
      "INSERT INTO counselling (tenant, case_id, recorded_by, held_on, "      \
      "counsellor, outcome, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "     \
      "?7)")                                                                  \
    X(COUNSEL_LIST,                                                           \
      "SELECT id, case_id, tenant, recorded_by, held_on, counsellor, "        \
      "outcome, created_at FROM counselling WHERE case_id = ?1 AND "          \
      "tenant = ?2 ORDER BY id")                                              \
    X(REFERRAL_INSERT,                                                        \
      "INSERT INTO referrals (tenant, case_id, partner, status, "             \
      "created_at) VALUES (?1, ?2, ?3, 'pending', ?4)")                       \
    X(REFERRAL_GET,                                                           \
      "SELECT " REFERRAL_COLS " FROM referrals WHERE id = ?1 AND (tenant = "  \
      "?2 OR partner = ?2)")                                                  \
    X(REFERRAL_LIST,                                                          \
      "SELECT " REFERRAL_COLS " FROM referrals WHERE (tenant = ?1 OR "        \
      "partner = ?1) AND (CAST(?2 AS TEXT) IS NULL OR status = ?2) AND "      \
      "id > ?3 ORDER BY id LIMIT ?4")                                         \
    X(REFERRAL_DECIDE,                                                        \
      "UPDATE referrals SET status = ?2, reason = ?3, decided_key_id = "      \
      "?4, decided_at = ?5 WHERE id = ?1 AND partner = ?6 AND status = "      \
      "'pending'")                                                            \
    X(REFERRAL_ACCESS_CASE,                                                   \
      "SELECT c.tenant FROM referrals r JOIN cases c ON c.id = "              \
      "r.case_id WHERE r.case_id = ?1 AND r.partner = ?2 AND r.status = "     \
      "'accepted' LIMIT 1")                                                   \
    X(REFERRAL_ACCESS_PERSON,                                                 \
      "SELECT c.tenant FROM referrals r JOIN cases c ON c.id = "              \
      "r.case_id WHERE c.person_id = ?1 AND r.partner = ?2 AND r.status "     \
      "= 'accepted' LIMIT 1")                                                 \
    X(PLAN_PUT,                                                               \
      "INSERT INTO plans (case_id, tenant, recorded_by, components, "         \
      "amounts, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT "     \
      "(case_id) DO UPDATE SET recorded_by = excluded.recorded_by, "          \
      "components = excluded.components, amounts = excluded.amounts, "        \
      "updated_at = excluded.updated_at")                                     \
    X(PLAN_GET,                                                               \
      "SELECT case_id, tenant, recorded_by, components, amounts, "            \
      "updated_at FROM plans WHERE case_id = ?1 AND tenant = ?2")             \
    X(FOLLOW_UP_INSERT,                                                       \
      "INSERT INTO follow_ups (tenant, case_id, recorded_by, "                \
      "visited_on, economic, social, psychosocial, note, created_at) "        \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")                          \
    X(FOLLOW_UP_LIST,                                                         \
      "SELECT id, case_id, tenant, recorded_by, visited_on, economic, "       \
      "social, psychosocial, note, created_at FROM follow_ups WHERE "         \
      "case_id = ?1 AND tenant = ?2 ORDER BY id")                             \
    /* rekey of the return process's free text, sealed per case. */          \
    X(REKEY_COUNSELLING, "SELECT id, case_id, outcome FROM counselling "      \
                         "WHERE id > ?1 ORDER BY id LIMIT ?2")                \
    X(REKEY_COUNSELLING_SET, "UPDATE counselling SET outcome = ?2 "           \
                             "WHERE id = ?1")                                 \
    X(REKEY_PLANS, "SELECT case_id, case_id, components FROM plans "          \
                   "WHERE case_id > ?1 ORDER BY case_id LIMIT ?2")            \
    X(REKEY_PLANS_SET, "UPDATE plans SET components = ?2 WHERE case_id = ?1") \
    X(REKEY_FOLLOW_UPS, "SELECT id, case_id, note FROM follow_ups "           \
                        "WHERE id > ?1 ORDER BY id LIMIT ?2")                 \
    X(REKEY_FOLLOW_UPS_SET, "UPDATE follow_ups SET note = ?2 WHERE id = ?1")  \
    X(REKEY_REFERRALS, "SELECT id, case_id, reason FROM referrals "           \
                       "WHERE id > ?1 ORDER BY id LIMIT ?2")                  \
    X(REKEY_REFERRALS_SET, "UPDATE referrals SET reason = ?2 WHERE id = ?1")  \
    /* Rewrites the file: no page keeps an old value after a rekey. */      \
    X(VACUUM, "VACUUM")

#define STMT_ENUM(name, sql) ST_##name,
enum stmt_id { STMTS(STMT_ENUM) ST__COUNT };
#undef STMT_ENUM

#define STMT_SQL(name, sql) [ST_##name] = sql,
static const char *const stmt_sql[ST__COUNT] = {STMTS(STMT_SQL)};
#undef STMT_SQL

/* The tables count() may name, each with its statement. */
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

typedef struct sq_store {
    avrr_store base; /* first: an sq_store * is an avrr_store * */
    sqlite3 *db;
    char *path; /* for messages */
    avrr_data_key *key; /* NULL: a plain registry */
    sqlite3_stmt *stmts[ST__COUNT];
} sq_store;

static const avrr_store_ops sqlite_ops;

static sq_store *sq(avrr_store *s)
{
    return (sq_store *)s;
}

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

/* The one mapping of SQLite result codes to avrr_err. `what` names the
 * operation or record for the message ("tenant", "storing the person"). */
static avrr_err sq_error(sq_store *s, int rc, const char *field,
                         const char *what, avrr_error *e)
{
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
        return avrr_error_set(e, AVRR_EINVALID, "database",
                              "%s is not an avrr registry (%s)", s->path,
                              sqlite3_errstr(rc));
    case SQLITE_CANTOPEN:
        return avrr_error_set(e, AVRR_EIO, "database", "cannot open %s: %s",
                              s->path, sqlite3_errmsg(s->db));
    case SQLITE_NOMEM:
        return avrr_error_set(e, AVRR_ENOMEM, field,
                              "out of memory in the database (%s)", what);
    case SQLITE_CONSTRAINT:
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
            return avrr_error_set(e, AVRR_EEXISTS, field,
                                  "%s already exists", what);
        case SQLITE_CONSTRAINT_FOREIGNKEY:
            return avrr_error_set(e, AVRR_ENOTFOUND, field,
                                  "%s refers to a record that does not exist",
                                  what);
        default:
            return avrr_error_set(e, AVRR_EINVALID, field,
                                  "%s refused by the registry: %s", what,
                                  sqlite3_errmsg(s->db));
        }
    default:
        return avrr_error_set(e, AVRR_EDB, field, "%s: %s (%s)", what,
                              sqlite3_errmsg(s->db), sqlite3_errstr(rc));
    }
}

/* The cached statement `id`, prepared on first use. */
static avrr_err stmt_get(sq_store *s, enum stmt_id id, sqlite3_stmt **out,
                         avrr_error *e)
{
    *out = NULL;
    if (s->stmts[id] == NULL) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
                                    SQLITE_PREPARE_PERSISTENT, &s->stmts[id],
                                    NULL);
        if (rc != SQLITE_OK) {
            s->stmts[id] = NULL;
            return sq_error(s, rc, NULL, "preparing a statement", e);
        }
    }
    *out = s->stmts[id];
    return AVRR_OK;
}

/* Makes a used statement ready for its next use. Safe with NULL. */
static void stmt_done(sqlite3_stmt *st)
{
    if (st != NULL) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* ---- binding: each helper does nothing once *rc holds an error ---------- */

static void bind_text(int *rc, sqlite3_stmt *st, int i, const char *v)
{
    if (*rc == SQLITE_OK)
        *rc = v != NULL ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC)
                        : sqlite3_bind_null(st, i);
}

static void bind_int(int *rc, sqlite3_stmt *st, int i, int64_t v)
{
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_int64(st, i, v);
}

static void bind_double(int *rc, sqlite3_stmt *st, int i, double v)
{
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_double(st, i, v);
}

/* An optional reference (person, check, API key): 0 means "none" in the
 * records and is stored as NULL, which reads back as 0. */
static void bind_ref(int *rc, sqlite3_stmt *st, int i, int64_t v)
{
    if (*rc == SQLITE_OK)
        *rc = v > 0 ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

/* An optional tenant code: "" is stored as NULL (no tenant). */
static void bind_code(int *rc, sqlite3_stmt *st, int i, const char *v)
{
    bind_text(rc, st, i, v != NULL && v[0] != '\0' ? v : NULL);
}

static void bind_blob(int *rc, sqlite3_stmt *st, int i, const void *p,
                      int n)
{
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_blob(st, i, p, n, SQLITE_STATIC);
}

/* The sealing context of a row owned by an integer id (crypt.h). */
static const char *ctx_id(char buf[24], int64_t id)
{
    snprintf(buf, 24, "%lld", (long long)id);
    return buf;
}

/* A personal value sealed under `key` for `column` ("table.column") and
 * `context`, or the text itself when key is NULL; NULL stays NULL. The
 * sealed copy is handed to SQLite, which frees it. Out of memory sets *rc
 * to SQLITE_NOMEM (AVRR_ENOMEM through sq_error). */
static void bind_sealed(const avrr_data_key *key, int *rc, sqlite3_stmt *st,
                        int i, const char *column, const char *context,
                        const char *v)
{
    uint8_t *buf;
    size_t n;

    if (*rc != SQLITE_OK)
        return;
    if (v == NULL || key == NULL) {
        bind_text(rc, st, i, v);
        return;
    }
    n = strlen(v);
    if (n > (size_t)INT_MAX - AVRR_SEAL_OVERHEAD) {
        *rc = SQLITE_TOOBIG;
        return;
    }
    buf = avrr_malloc(n + AVRR_SEAL_OVERHEAD);
    if (buf == NULL) {
        *rc = SQLITE_NOMEM;
        return;
    }
    avrr__seal(key, column, context, v, n, buf);
    *rc = sqlite3_bind_blob(st, i, buf, (int)(n + AVRR_SEAL_OVERHEAD),
                            avrr_free);
}

/* A personal value under the registry's key (plain without one). */
static void bind_secret(sq_store *s, int *rc, sqlite3_stmt *st, int i,
                        const char *column, const char *context,
                        const char *v)
{
    bind_sealed(s->key, rc, st, i, column, context, v);
}

/* ---- reading columns ------------------------------------------------------ */

static avrr_err corrupt(sq_store *s, const char *what, avrr_error *e)
{
    return avrr_error_set(e, AVRR_EDB, NULL,
                          "registry %s holds an invalid %s", s->path, what);
}

/* A heap copy of a text column, NULL for SQL NULL. */
static avrr_err col_str(sqlite3_stmt *st, int i, char **out, avrr_error *e)
{
    const unsigned char *t;
    size_t n;
    char *copy;

    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return AVRR_OK;
    t = sqlite3_column_text(st, i);
    if (t == NULL)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
    n = (size_t)sqlite3_column_bytes(st, i);
    copy = avrr_malloc(n + 1);
    if (copy == NULL)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
    memcpy(copy, t, n);
    copy[n] = '\0';
    *out = copy;
    return AVRR_OK;
}

/* A text column into a fixed buffer (tenant codes, country codes). */
static avrr_err col_fixed(sq_store *s, sqlite3_stmt *st, int i, char *buf,
                          size_t size, const char *what, avrr_error *e)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);

    buf[0] = '\0';
    if (t == NULL)
        return AVRR_OK; /* NULL: "" */
    if (n >= size || memchr(t, '\0', n) != NULL)
        return corrupt(s, what, e);
    memcpy(buf, t, n);
    buf[n] = '\0';
    return AVRR_OK;
}

/* An enumeration stored as its wire name. */
static avrr_err col_enum(sq_store *s, sqlite3_stmt *st, int i,
                         int (*parse)(const char *), int *out,
                         const char *what, avrr_error *e)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    int v = t != NULL ? parse((const char *)t) : -1;

    if (v < 0)
        return corrupt(s, what, e);
    *out = v;
    return AVRR_OK;
}

/* core.h has no avrr_band_parse (bands never come from input), so col_enum
 * gets this one. */
static int band_parse(const char *name)
{
    for (int i = 0; i < AVRR_BAND__COUNT; i++) {
        if (strcmp(name, avrr_band_name(i)) == 0)
            return i;
    }
    return -1;
}

/* A date stored as its canonical text. */
static avrr_err col_date(sq_store *s, sqlite3_stmt *st, int i,
                         avrr_date *out, const char *what, avrr_error *e)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    if (avrr_date_parse(t != NULL ? (const char *)t : "", out, what, NULL) !=
        AVRR_OK)
        return corrupt(s, what, e);
    return AVRR_OK;
}

/* A personal value (bind_secret's) as a new string, NULL for SQL NULL.
 * In an encrypted registry the value must be a sealed BLOB that opens under
 * the key for this column and context: anything else (changed, moved from
 * another column or person, sealed under another key, left in the clear)
 * is an error, never garbage. */
static avrr_err col_secret(sq_store *s, sqlite3_stmt *st, int i,
                           const char *column, const char *context,
                           char **out, avrr_error *e)
{
    int type = sqlite3_column_type(st, i);
    const uint8_t *sealed;
    size_t n, plain_n = 0;
    bool other_key = false;
    char *plain;

    *out = NULL;
    if (type == SQLITE_NULL)
        return AVRR_OK;
    if (s->key == NULL) {
        if (type == SQLITE_BLOB)
            return avrr_error_set(e, AVRR_EDB, NULL,
                                  "registry %s holds an encrypted %s but "
                                  "is not marked as encrypted",
                                  s->path, column);
        return col_str(st, i, out, e);
    }
    if (type != SQLITE_BLOB)
        return avrr_error_set(e, AVRR_EDB, NULL,
                              "registry %s is encrypted but holds %s in "
                              "the clear",
                              s->path, column);
    sealed = sqlite3_column_blob(st, i);
    n = (size_t)sqlite3_column_bytes(st, i);
    if (n < AVRR_SEAL_OVERHEAD)
        return avrr_error_set(e, AVRR_EDB, NULL,
                              "registry %s holds a damaged encrypted %s",
                              s->path, column);
    if (sealed == NULL)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
    plain = avrr_malloc(n - AVRR_SEAL_OVERHEAD + 1);
    if (plain == NULL)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
    if (avrr__unseal(s->key, column, context, sealed, n, (uint8_t *)plain,
                     &plain_n, &other_key) != AVRR_OK) {
        avrr_free(plain);
        return avrr_error_set(e, AVRR_EDB, NULL,
                              other_key
                                  ? "registry %s holds %s sealed under "
                                    "another data key"
                                  : "registry %s: an encrypted %s does not "
                                    "open (changed, or moved from another "
                                    "row or column)",
                              s->path, column);
    }
    plain[plain_n] = '\0';
    *out = plain;
    return AVRR_OK;
}

/* Zeroes and frees a decrypted value. Safe with NULL. */
static void secret_free(char *p)
{
    if (p != NULL) {
        sodium_memzero(p, strlen(p));
        avrr_free(p);
    }
}

/* A personal date (bind_secret's canonical text). */
static avrr_err col_secret_date(sq_store *s, sqlite3_stmt *st, int i,
                                const char *column, const char *context,
                                avrr_date *out, const char *what,
                                avrr_error *e)
{
    char *text = NULL;
    avrr_err result;

    if (s->key == NULL)
        return col_date(s, st, i, out, what, e);
    result = col_secret(s, st, i, column, context, &text, e);
    if (result == AVRR_OK &&
        avrr_date_parse(text != NULL ? text : "", out, what, NULL) != AVRR_OK)
        result = corrupt(s, what, e);
    secret_free(text);
    return result;
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

static size_t clamp_limit(size_t limit)
{
    return limit == 0 || limit > LIST_LIMIT_MAX ? LIST_LIMIT_MAX : limit;
}

/* ---- small query helpers ---------------------------------------------------- */

/* Steps a statement that returns no row (or whose rows do not matter) to its
 * end. */
static avrr_err run(sq_store *s, enum stmt_id id, const char *what,
                    avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    avrr_err result = stmt_get(s, id, &st, e);
    int rc;

    if (result != AVRR_OK)
        return result;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, what, e);
    stmt_done(st);
    return result;
}

/* Steps a bound statement expected to be DONE (INSERT, UPDATE). */
static avrr_err step_done(sq_store *s, sqlite3_stmt *st, const char *field,
                          const char *what, avrr_error *e)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return sq_error(s, rc, field, what, e);
    return AVRR_OK;
}

/* Steps a bound statement that returns one integer (count, PRAGMA). */
static avrr_err step_int(sq_store *s, sqlite3_stmt *st, int64_t *out,
                         const char *what, avrr_error *e)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return sq_error(s, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, NULL,
                        what, e);
    *out = sqlite3_column_int64(st, 0);
    return AVRR_OK;
}

/* One integer from an unbound statement. */
static avrr_err query_int(sq_store *s, enum stmt_id id, int64_t *out,
                          const char *what, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    avrr_err result = stmt_get(s, id, &st, e);
    if (result == AVRR_OK)
        result = step_int(s, st, out, what, e);
    stmt_done(st);
    return result;
}

/* True (in *owned) when row `id` of persons or cases belongs to tenant. */
static avrr_err owned_by(sq_store *s, enum stmt_id id, int64_t row,
                         const char *tenant, bool *owned, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    int64_t n = 0;
    avrr_err result = stmt_get(s, id, &st, e);

    *owned = false;
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, row);
    bind_text(&rc, st, 2, tenant != NULL ? tenant : "");
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "checking ownership", e);
        goto out;
    }
    result = step_int(s, st, &n, "checking ownership", e);
    *owned = n > 0;
out:
    stmt_done(st);
    return result;
}

/* ---- write scopes ----------------------------------------------------------- */

/* A multi-statement write: a savepoint inside the caller's transaction, or
 * our own BEGIN IMMEDIATE transaction when there is none (so that a read
 * before the first write cannot fail with a stale WAL snapshot). */
typedef struct write_scope {
    bool own_tx;
} write_scope;

static avrr_err key_unchanged(sq_store *s, avrr_error *e);

/* BEGIN IMMEDIATE, then the check that nobody re-keyed the registry since
 * we opened it (we would seal under a key it no longer names). */
static avrr_err begin_write(sq_store *s, const char *what, avrr_error *e)
{
    avrr_err result = run(s, ST_BEGIN, what, e);
    if (result == AVRR_OK) {
        result = key_unchanged(s, e);
        if (result != AVRR_OK)
            (void)run(s, ST_ROLLBACK, "rolling back", NULL);
    }
    return result;
}

static avrr_err scope_begin(sq_store *s, write_scope *w, avrr_error *e)
{
    w->own_tx = sqlite3_get_autocommit(s->db) != 0;
    if (w->own_tx)
        return begin_write(s, "starting a write", e);
    return run(s, ST_SAVEPOINT, "starting a write", e);
}

/* Ends the scope: keeps the work when result is AVRR_OK, else undoes it.
 * Returns the final result. */
static avrr_err scope_end(sq_store *s, write_scope *w, avrr_err result,
                          avrr_error *e)
{
    if (result == AVRR_OK) {
        result = run(s, w->own_tx ? ST_COMMIT : ST_RELEASE,
                     "finishing a write", e);
        if (result == AVRR_OK)
            return AVRR_OK;
    }
    /* Errors here are ignored: SQLite may have rolled back already. */
    if (w->own_tx) {
        if (!sqlite3_get_autocommit(s->db))
            (void)run(s, ST_ROLLBACK, "rolling back", NULL);
    } else {
        (void)run(s, ST_ROLLBACK_TO, "rolling back", NULL);
        (void)run(s, ST_RELEASE, "rolling back", NULL);
    }
    return result;
}

/* ---- open, migrations, close ------------------------------------------------ */

static void sq_close(avrr_store *base)
{
    sq_store *s = sq(base);

    if (s == NULL)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    avrr_data_key_free(s->key);
    avrr_free(s->path);
    avrr_free(s);
}

/* The refusal of a registry made by a newer avrr. */
static avrr_err too_new(sq_store *s, int64_t version, avrr_error *e)
{
    return avrr_error_set(e, AVRR_EVERSION, NULL,
                          "registry %s has schema version %lld, this avrr "
                          "understands up to %d: upgrade avrr",
                          s->path, (long long)version, AVRR_SCHEMA_VERSION);
}

/* Applies migrations after the registry's version, in one transaction. */
static avrr_err migrate(sq_store *s, avrr_error *e)
{
    int64_t version = 0;
    char sql[64], what[64];
    avrr_err result = query_int(s, ST_USER_VERSION, &version,
                                "reading the schema version", e);

    if (result != AVRR_OK || version == AVRR_SCHEMA_VERSION)
        return result; /* up to date: no write lock needed */
    result = run(s, ST_BEGIN, "starting the schema upgrade", e);
    if (result != AVRR_OK)
        return result;
    /* Read again under the lock: another process may have migrated. */
    result = query_int(s, ST_USER_VERSION, &version, "reading the schema "
                       "version", e);
    if (result != AVRR_OK)
        goto out;
    if (version > AVRR_SCHEMA_VERSION) {
        result = too_new(s, version, e);
        goto out;
    }
    for (int v = (int)version + 1; v <= N_MIGRATIONS; v++) {
        int rc = sqlite3_exec(s->db, migrations[v - 1], NULL, NULL, NULL);
        if (rc == SQLITE_OK) {
            /* PRAGMA takes no parameters; v is our own small integer. */
            snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
            rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        }
        if (rc != SQLITE_OK) {
            snprintf(what, sizeof what, "upgrading to schema version %d", v);
            result = sq_error(s, rc, NULL, what, e);
            goto out;
        }
    }
    result = run(s, ST_COMMIT, "committing the schema upgrade", e);
out:
    if (result != AVRR_OK && !sqlite3_get_autocommit(s->db))
        (void)run(s, ST_ROLLBACK, "rolling back", NULL);
    return result;
}

/* Checks that the file is an avrr registry this build can use, or an empty
 * file that we were asked to make one (*fresh). Changes nothing in the
 * file. */
static avrr_err check_registry(sq_store *s, bool create, bool *fresh,
                               avrr_error *e)
{
    int64_t objects = 0, has_meta = 0, is_avrr = 0, version = 0;
    avrr_err result;

    *fresh = false;
    result = query_int(s, ST_OBJECT_COUNT, &objects, "reading the schema", e);
    if (result != AVRR_OK)
        return result;
    if (objects == 0) {
        *fresh = create;
        if (!create)
            return avrr_error_set(e, AVRR_ENOTFOUND, "database",
                                  "no registry at %s (create one with "
                                  "`avrr init`)",
                                  s->path);
        return AVRR_OK;
    }
    result = query_int(s, ST_HAS_META, &has_meta, "reading the schema", e);
    if (result == AVRR_OK && has_meta > 0)
        result = query_int(s, ST_META_APP, &is_avrr, "reading avrr_meta", e);
    if (result != AVRR_OK)
        return result;
    if (is_avrr == 0)
        return avrr_error_set(e, AVRR_EINVALID, "database",
                              "%s is an SQLite database but not an avrr "
                              "registry",
                              s->path);
    result = query_int(s, ST_USER_VERSION, &version,
                       "reading the schema version", e);
    if (result != AVRR_OK)
        return result;
    if (version > AVRR_SCHEMA_VERSION)
        return too_new(s, version, e);
    return AVRR_OK;
}

/* WAL, foreign keys, synchronous=NORMAL and secure_delete. */
static avrr_err configure(sq_store *s, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    avrr_err result = stmt_get(s, ST_JOURNAL_WAL, &st, e);
    int rc;

    if (result != AVRR_OK)
        goto out;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        result = sq_error(s, rc, NULL, "switching to WAL mode", e);
        goto out;
    }
    /* An in-memory database answers "memory" and cannot do WAL. */
    {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        if (mode == NULL || (strcmp(mode, "wal") != 0 &&
                             strcmp(mode, "memory") != 0)) {
            result = avrr_error_set(e, AVRR_EDB, "database",
                                    "cannot switch %s to WAL mode (it "
                                    "stays in %s mode)",
                                    s->path, mode != NULL ? mode : "?");
            goto out;
        }
    }
    stmt_done(st);
    st = NULL;
    result = run(s, ST_SYNC_NORMAL, "setting synchronous", e);
    if (result == AVRR_OK)
        result = run(s, ST_FOREIGN_KEYS, "enabling foreign keys", e);
    if (result == AVRR_OK)
        result = run(s, ST_SECURE_DELETE, "enabling secure_delete", e);
out:
    stmt_done(st);
    return result;
}

/* ---- encryption at rest ------------------------------------------------------ */

/* A setting of avrr_meta, NULL when absent (no error then). */
static avrr_err meta_read(sq_store *s, const char *key, char **value,
                          avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_META_GET, &st, e);

    *value = NULL;
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, key);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = col_str(st, 0, value, e);
    else if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "reading a setting", e);
out:
    stmt_done(st);
    return result;
}

/* Inserts or replaces a setting, read-only ones included. */
static avrr_err meta_write(sq_store *s, const char *key, const char *value,
                           avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_META_SET, &st, e);

    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, key);
    bind_text(&rc, st, 2, value);
    if (rc != SQLITE_OK)
        result = sq_error(s, rc, "key", "setting", e);
    else
        result = step_done(s, st, "key", "setting", e);
out:
    stmt_done(st);
    return result;
}

/* Fails when avrr_meta names another key than the one this handle opened
 * the registry with (or any key, for a handle without one): another process
 * re-keyed it. Called with the write lock held, so the answer holds until
 * the commit. */
static avrr_err key_unchanged(sq_store *s, avrr_error *e)
{
    char *id = NULL, have[17] = "";
    avrr_err result = meta_read(s, META_KEY_ID, &id, e);

    if (s->key != NULL)
        avrr_data_key_id_hex(s->key, have);
    if (result == AVRR_OK && (id == NULL ? s->key != NULL
                                         : strcmp(id, have) != 0))
        result = avrr_error_set(e, AVRR_ECONFLICT, "data_key",
                                "registry %s was re-keyed since it was "
                                "opened (data key now %s): restart with "
                                "AVRR_DATA_KEY naming the new key file",
                                s->path, id != NULL ? id : "none");
    avrr_free(id);
    return result;
}

/* Records in avrr_meta that the registry is sealed under `key`: the
 * algorithm, the key id and the check value (KEY_CHECK_TEXT sealed for
 * "avrr_meta.data_key_check" and the key id, in hex). The caller holds a
 * transaction. */
static avrr_err meta_write_key(sq_store *s, const avrr_data_key *key,
                               avrr_error *e)
{
    uint8_t sealed[sizeof KEY_CHECK_TEXT - 1 + AVRR_SEAL_OVERHEAD];
    char hex[2 * sizeof sealed + 1], id[17];
    avrr_err result;

    avrr_data_key_id_hex(key, id);
    avrr__seal(key, "avrr_meta." META_KEY_CHECK, id, KEY_CHECK_TEXT,
               sizeof KEY_CHECK_TEXT - 1, sealed);
    sodium_bin2hex(hex, sizeof hex, sealed, sizeof sealed);
    result = meta_write(s, META_ENCRYPTION, ENCRYPTION_NAME, e);
    if (result == AVRR_OK)
        result = meta_write(s, META_KEY_ID, id, e);
    if (result == AVRR_OK)
        result = meta_write(s, META_KEY_CHECK, hex, e);
    return result;
}

/* True when the check value in hex opens under key as KEY_CHECK_TEXT. */
static bool key_check_holds(const avrr_data_key *key, const char *hex)
{
    uint8_t sealed[sizeof KEY_CHECK_TEXT - 1 + AVRR_SEAL_OVERHEAD];
    uint8_t plain[sizeof KEY_CHECK_TEXT - 1];
    size_t bin = 0, n = 0;
    bool other_key = false;
    char id[17];

    if (hex == NULL ||
        sodium_hex2bin(sealed, sizeof sealed, hex, strlen(hex), NULL, &bin,
                       NULL) != 0 ||
        bin != sizeof sealed)
        return false;
    avrr_data_key_id_hex(key, id);
    return avrr__unseal(key, "avrr_meta." META_KEY_CHECK, id, sealed,
                        sizeof sealed, plain, &n, &other_key) == AVRR_OK &&
           n == sizeof plain &&
           memcmp(plain, KEY_CHECK_TEXT, sizeof plain) == 0;
}

/* Loads the key file for a registry, naming AVRR_DATA_KEY in errors. */
static avrr_err load_key(sq_store *s, const char *path, avrr_data_key **out,
                         avrr_error *e)
{
    avrr_error why;
    avrr_err result;

    avrr_error_clear(&why);
    result = avrr_data_key_load(path, out, &why);
    if (result != AVRR_OK)
        result = avrr_error_set(e, result, "data_key",
                                "%s (data key for %s; AVRR_DATA_KEY names "
                                "its file)",
                                why.message, s->path);
    return result;
}

/* Makes s->key the registry's data key, or leaves it NULL for a plain
 * registry opened without one. See avrr_store_options for the rules. A
 * fresh registry (just created) given a key is marked encrypted here. */
static avrr_err crypt_open(sq_store *s, const char *key_path, bool fresh,
                           avrr_error *e)
{
    bool want = key_path != NULL && key_path[0] != '\0';
    char *key_id = NULL, *check = NULL;
    avrr_data_key *key = NULL;
    char have[17];
    avrr_err result = meta_read(s, META_KEY_ID, &key_id, e);

    if (result != AVRR_OK || (key_id == NULL && !want))
        goto out;
    if (key_id == NULL && !fresh) {
        result = avrr_error_set(e, AVRR_EINVALID, "data_key",
                                "registry %s is not encrypted, but a data "
                                "key was given (AVRR_DATA_KEY=%s): encrypt "
                                "it with `avrr rekey --db %s --new-data-key "
                                "FILE`, or unset AVRR_DATA_KEY",
                                s->path, key_path, s->path);
        goto out;
    }
    if (!want) {
        result = avrr_error_set(e, AVRR_EINVALID, "data_key",
                                "registry %s is encrypted (data key %s): set "
                                "AVRR_DATA_KEY to the path of its key file",
                                s->path, key_id);
        goto out;
    }
    result = load_key(s, key_path, &key, e);
    if (result != AVRR_OK)
        goto out;
    avrr_data_key_id_hex(key, have);
    if (key_id == NULL) {
        /* A new registry: mark it, unless another process did first. */
        result = run(s, ST_BEGIN, "marking the registry encrypted", e);
        if (result == AVRR_OK)
            result = meta_read(s, META_KEY_ID, &key_id, e);
        if (result == AVRR_OK && key_id == NULL) {
            result = meta_write_key(s, key, e);
            if (result == AVRR_OK)
                result = meta_read(s, META_KEY_ID, &key_id, e);
        }
        if (result == AVRR_OK)
            result = run(s, ST_COMMIT, "marking the registry encrypted", e);
        if (result != AVRR_OK) {
            if (!sqlite3_get_autocommit(s->db))
                (void)run(s, ST_ROLLBACK, "rolling back", NULL);
            goto out;
        }
    }
    if (key_id == NULL || strcmp(key_id, have) != 0) {
        result = avrr_error_set(e, AVRR_EINVALID, "data_key",
                                "registry %s is encrypted with data key %s, "
                                "but AVRR_DATA_KEY (%s) holds key %s",
                                s->path, key_id != NULL ? key_id : "?",
                                key_path, have);
        goto out;
    }
    result = meta_read(s, META_KEY_CHECK, &check, e);
    if (result == AVRR_OK && !key_check_holds(key, check))
        result = avrr_error_set(e, AVRR_EINVALID, "data_key",
                                "the data key in %s (AVRR_DATA_KEY) does not "
                                "open registry %s: wrong key",
                                key_path, s->path);
    if (result == AVRR_OK) {
        s->key = key;
        key = NULL;
    }
out:
    avrr_data_key_free(key);
    avrr_free(key_id);
    avrr_free(check);
    return result;
}

bool avrr__sqlite_encrypted(avrr_store *s)
{
    return s != NULL && s->ops == &sqlite_ops && sq(s)->key != NULL;
}

avrr_err avrr__sqlite_open(const char *path, const avrr_store_options *opt,
                           avrr_store **out, avrr_error *e)
{
    sq_store *s = NULL;
    struct stat sb;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    bool create = opt->create, fresh = false;
    int rc;
    avrr_err result = AVRR_OK;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || path[0] == '\0' || out == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "database",
                              "no registry path given");
    if (strcmp(path, ":memory:") != 0 && stat(path, &sb) != 0) {
        if (errno != ENOENT)
            return avrr_error_set(e, AVRR_EIO, "database", "%s: %s", path,
                                  strerror(errno));
        if (!create)
            return avrr_error_set(e, AVRR_ENOTFOUND, "database",
                                  "no registry at %s (create one with "
                                  "`avrr init`)",
                                  path);
    }
    if (create)
        flags |= SQLITE_OPEN_CREATE;

    s = avrr_calloc(1, sizeof *s);
    if (s == NULL)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
    s->base.ops = &sqlite_ops;
    s->path = avrr_strdup(path);
    if (s->path == NULL) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
        goto out;
    }
    rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (s->db == NULL) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
        goto out;
    }
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, "database", "opening the registry", e);
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* Refuse writes to sqlite_master and other ways of corrupting the file
     * from SQL. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);

    result = check_registry(s, create, &fresh, e);
    if (result == AVRR_OK)
        result = configure(s, e);
    if (result == AVRR_OK)
        result = migrate(s, e);
    if (result == AVRR_OK)
        result = crypt_open(s, opt->data_key, fresh, e);
    if (result != AVRR_OK)
        goto out;

    s->base.magic = AVRR_STORE_MAGIC;
    *out = &s->base;
    s = NULL;
out:
    if (s != NULL)
        sq_close(&s->base);
    return result;
}

void *avrr__sqlite_db(avrr_store *s)
{
    if (s == NULL || s->ops != &sqlite_ops)
        return NULL;
    return sq(s)->db;
}

/* ---- transactions ------------------------------------------------------------ */

static avrr_err sq_begin(avrr_store *base, avrr_error *e)
{
    return begin_write(sq(base), "starting a transaction", e);
}

static avrr_err sq_commit(avrr_store *base, avrr_error *e)
{
    return run(sq(base), ST_COMMIT, "committing", e);
}

static void sq_rollback(avrr_store *base)
{
    sq_store *s = sq(base);
    if (!sqlite3_get_autocommit(s->db))
        (void)run(s, ST_ROLLBACK, "rolling back", NULL);
}

/* ---- tenants ------------------------------------------------------------------ */

/* The store keeps what the record says (0: never); defaults for new tenants
 * are the service's. Negative periods are refused here with a field name
 * rather than by the CHECK constraint. */
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

static avrr_err sq_tenant_insert(avrr_store *base, avrr_tenant *t,
                                 avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *policy = avrr_duplicate_policy_name((int)t->duplicate_policy);
    int64_t now = now_seconds();
    char what[32];
    int rc = SQLITE_OK;
    avrr_err result;

    if (policy == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "duplicate_policy",
                              "unknown duplicate policy");
    result = retention_check(t, e);
    if (result != AVRR_OK)
        return result;
    result = stmt_get(s, ST_TENANT_INSERT, &st, e);
    if (result != AVRR_OK)
        goto out;
    snprintf(what, sizeof what, "tenant %s", t->code);
    bind_text(&rc, st, 1, t->code);
    bind_text(&rc, st, 2, t->name);
    bind_text(&rc, st, 3, policy);
    bind_int(&rc, st, 4, now);
    bind_int(&rc, st, 5, t->retention_days);
    bind_int(&rc, st, 6, t->audit_retention_days);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        t->created_at = now;
    else
        result = sq_error(s, rc, "code", what, e);
out:
    stmt_done(st);
    return result;
}

static avrr_err read_tenant(sq_store *s, sqlite3_stmt *st, avrr_tenant *t,
                            avrr_error *e)
{
    int policy = 0;
    avrr_err result = col_fixed(s, st, 0, t->code, sizeof t->code,
                                "tenant code", e);
    if (result == AVRR_OK)
        result = col_str(st, 1, &t->name, e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 2, avrr_duplicate_policy_parse, &policy,
                          "duplicate policy", e);
    t->duplicate_policy = (avrr_duplicate_policy)policy;
    t->created_at = sqlite3_column_int64(st, 3);
    t->retention_days = (int32_t)sqlite3_column_int(st, 4);
    t->audit_retention_days = (int32_t)sqlite3_column_int(st, 5);
    return result;
}

static avrr_err sq_tenant_get(avrr_store *base, const char *code,
                              avrr_tenant *out, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_TENANT_GET, &st, e);

    memset(out, 0, sizeof *out);
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, code != NULL ? code : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = read_tenant(s, st, out, e);
    else if (rc == SQLITE_DONE)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "tenant",
                                "no tenant %s", code != NULL ? code : "");
    else
        result = sq_error(s, rc, NULL, "reading the tenant", e);
out:
    stmt_done(st);
    if (result != AVRR_OK)
        avrr_tenant_clear(out);
    return result;
}

static avrr_err sq_tenant_list(avrr_store *base, avrr_tenant **out,
                               size_t *n, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_tenant *arr = NULL;
    size_t len = 0, cap = 0;
    int rc;
    avrr_err result = stmt_get(s, ST_TENANT_LIST, &st, e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_tenant *p = grow(arr, &cap, len + 1, sizeof *arr);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        result = read_tenant(s, st, &arr[len++], e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "listing tenants", e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        avrr_store_free_tenants(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err sq_tenant_update(avrr_store *base, const avrr_tenant *t,
                                 avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *policy = avrr_duplicate_policy_name((int)t->duplicate_policy);
    int rc = SQLITE_OK;
    avrr_err result;

    if (policy == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "duplicate_policy",
                              "unknown duplicate policy");
    result = retention_check(t, e);
    if (result != AVRR_OK)
        return result;
    result = stmt_get(s, ST_TENANT_UPDATE, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, t->code);
    bind_text(&rc, st, 2, t->name);
    bind_text(&rc, st, 3, policy);
    bind_int(&rc, st, 4, t->retention_days);
    bind_int(&rc, st, 5, t->audit_retention_days);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "tenant", e);
        goto out;
    }
    result = step_done(s, st, NULL, "tenant", e);
    if (result == AVRR_OK && sqlite3_changes(s->db) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "tenant", "no tenant %s",
                                t->code);
out:
    stmt_done(st);
    return result;
}

/* ---- registry metadata -------------------------------------------------- */

static avrr_err sq_meta_get(avrr_store *base, const char *key, char **value,
                            avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_META_GET, &st, e);

    *value = NULL;
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, key != NULL ? key : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = col_str(st, 0, value, e);
    else if (rc == SQLITE_DONE)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "key", "no setting %s",
                                key != NULL ? key : "");
    else
        result = sq_error(s, rc, NULL, "reading a setting", e);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_meta_set(avrr_store *base, const char *key,
                            const char *value, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result;

    if (key == NULL || key[0] == '\0' || value == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "key",
                              "a setting needs a key and a value");
    /* 'application' is how open() recognises a registry, the data_*
     * settings how it opens an encrypted one: changing them would lock
     * everyone out of the file. */
    if (strcmp(key, "application") == 0 ||
        strcmp(key, META_ENCRYPTION) == 0 || strcmp(key, META_KEY_ID) == 0 ||
        strcmp(key, META_KEY_CHECK) == 0)
        return avrr_error_set(e, AVRR_EINVALID, "key",
                              "the setting %s is read-only", key);
    result = stmt_get(s, ST_META_SET, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, key);
    bind_text(&rc, st, 2, value);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, "key", "setting", e);
        goto out;
    }
    result = step_done(s, st, "key", "setting", e);
out:
    stmt_done(st);
    return result;
}

/* ---- API keys ------------------------------------------------------------------ */

/* Longest key label: what avrr_key_info.label holds. */
#define KEY_LABEL_MAX (sizeof(((avrr_key_info *)0)->label) - 1)

static avrr_err sq_key_insert(avrr_store *base, const char *tenant,
                              avrr_role role, const uint8_t hash[32],
                              const char *label, int64_t *id_out,
                              avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *role_name = avrr_role_name((int)role);
    int rc = SQLITE_OK;
    avrr_err result;

    if (id_out != NULL)
        *id_out = 0;
    if (role_name == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "role", "unknown role");
    if (label != NULL && strlen(label) > KEY_LABEL_MAX)
        return avrr_error_set(e, AVRR_EINVALID, "label",
                              "a key label has at most %zu bytes",
                              KEY_LABEL_MAX);
    result = stmt_get(s, ST_KEY_INSERT, &st, e);
    if (result != AVRR_OK)
        goto out;
    /* A key without tenant (NULL or "") is an operator's key. */
    bind_text(&rc, st, 1, tenant != NULL && tenant[0] != '\0' ? tenant
                                                              : NULL);
    bind_text(&rc, st, 2, role_name);
    bind_blob(&rc, st, 3, hash, 32);
    bind_text(&rc, st, 4, label != NULL ? label : "");
    bind_int(&rc, st, 5, now_seconds());
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "API key", e);
        goto out;
    }
    result = step_done(s, st, NULL, "API key", e);
    if (result == AVRR_OK && id_out != NULL)
        *id_out = sqlite3_last_insert_rowid(s->db);
out:
    stmt_done(st);
    return result;
}

static avrr_err read_key(sq_store *s, sqlite3_stmt *st, avrr_key_info *k,
                         avrr_error *e)
{
    int role = 0;
    avrr_err result;

    memset(k, 0, sizeof *k);
    k->id = sqlite3_column_int64(st, 0);
    result = col_fixed(s, st, 1, k->tenant, sizeof k->tenant, "key tenant",
                       e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 2, avrr_role_parse, &role, "key role", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 3, k->label, sizeof k->label, "key label",
                           e);
    k->role = (avrr_role)role;
    k->revoked = sqlite3_column_type(st, 4) != SQLITE_NULL;
    k->created_at = sqlite3_column_int64(st, 5);
    return result;
}

static avrr_err sq_key_find(avrr_store *base, const uint8_t hash[32],
                            avrr_key_info *out, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_KEY_FIND, &st, e);

    memset(out, 0, sizeof *out);
    if (result != AVRR_OK)
        goto out;
    bind_blob(&rc, st, 1, hash, 32);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = read_key(s, st, out, e);
    else if (rc == SQLITE_DONE)
        result = avrr_error_set(e, AVRR_ENOTFOUND, NULL, "no such API key");
    else
        result = sq_error(s, rc, NULL, "reading the API key", e);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_key_revoke(avrr_store *base, int64_t id, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_KEY_REVOKE, &st, e);

    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id);
    bind_int(&rc, st, 2, now_seconds());
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "revoking the API key", e);
        goto out;
    }
    result = step_done(s, st, NULL, "revoking the API key", e);
    if (result == AVRR_OK && sqlite3_changes(s->db) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id",
                                "no API key %lld", (long long)id);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_key_list(avrr_store *base, const char *tenant,
                            avrr_key_info **out, size_t *n, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_key_info *arr = NULL;
    size_t len = 0, cap = 0;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_KEY_LIST, &st, e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, tenant);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "listing API keys", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_key_info *p = grow(arr, &cap, len + 1, sizeof *arr);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        result = read_key(s, st, &arr[len++], e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "listing API keys", e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        avrr_free(arr);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

/* ---- persons and identities ----------------------------------------------------- */

static avrr_err insert_documents(sq_store *s, const avrr_identity *id,
                                 avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    char ctx[24];
    avrr_err result = stmt_get(s, ST_DOCUMENT_INSERT, &st, e);

    ctx_id(ctx, id->id);
    for (size_t i = 0; result == AVRR_OK && i < id->n_documents; i++) {
        const avrr_document *d = &id->documents[i];
        int rc = SQLITE_OK;

        bind_int(&rc, st, 1, id->id);
        bind_text(&rc, st, 2, d->type);
        bind_secret(s, &rc, st, 3, "documents.number", ctx, d->number);
        bind_text(&rc, st, 4, d->country);
        if (rc != SQLITE_OK)
            result = sq_error(s, rc, NULL, "document", e);
        else
            result = step_done(s, st, NULL, "document", e);
        stmt_done(st);
        if (result != AVRR_OK && e != NULL) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "documents[%zu]", i);
            avrr_error_prefix_field(e, prefix);
        }
    }
    return result;
}

/* The personal columns of an identity as IDENTITY_INSERT and
 * IDENTITY_UPDATE number them (given_names at `first`, surname and
 * full_name after it, birth_date at first + 4, birth_place to eurodac_ref
 * at first + 8 to first + 11), sealed for the person in ctx. */
static void bind_identity_secrets(sq_store *s, int *rc, sqlite3_stmt *st,
                                  int first, const char *ctx,
                                  const avrr_identity *id, const char *birth)
{
    bind_secret(s, rc, st, first, "identities.given_names", ctx,
                id->given_names);
    bind_secret(s, rc, st, first + 1, "identities.surname", ctx,
                id->surname);
    bind_secret(s, rc, st, first + 2, "identities.full_name", ctx,
                id->full_name);
    bind_secret(s, rc, st, first + 4, "identities.birth_date", ctx, birth);
    bind_secret(s, rc, st, first + 8, "identities.birth_place", ctx,
                id->birth_place);
    bind_secret(s, rc, st, first + 9, "identities.address", ctx,
                id->address);
    bind_secret(s, rc, st, first + 10, "identities.national_ref", ctx,
                id->national_ref);
    bind_secret(s, rc, st, first + 11, "identities.eurodac_ref", ctx,
                id->eurodac_ref);
}

/* Inserts one identity and its documents; writes back id, person_id and
 * created_at. The caller holds a write scope. */
static avrr_err insert_identity(sq_store *s, int64_t person_id,
                                avrr_identity *id, int64_t now,
                                avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    const char *sex = avrr_sex_name((int)id->sex);
    char birth[11], ctx[24];
    int rc = SQLITE_OK;
    avrr_err result;

    if (sex == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "sex", "unknown sex");
    avrr_date_format(&id->birth_date, birth);
    ctx_id(ctx, person_id);
    result = stmt_get(s, ST_IDENTITY_INSERT, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, person_id);
    bind_identity_secrets(s, &rc, st, 2, ctx, id, birth);
    bind_text(&rc, st, 5, sex);
    bind_int(&rc, st, 7, id->birth_date.precision);
    bind_int(&rc, st, 8, id->birth_date.placeholder ? 1 : 0);
    bind_text(&rc, st, 9, id->nationality);
    bind_int(&rc, st, 14, now);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "identity", e);
        goto out;
    }
    result = step_done(s, st, NULL, "identity", e);
    if (result != AVRR_OK)
        goto out;
    id->id = sqlite3_last_insert_rowid(s->db);
    id->person_id = person_id;
    id->created_at = now;
    stmt_done(st);
    st = NULL;
    result = insert_documents(s, id, e);
out:
    stmt_done(st);
    return result;
}

/* Inserts the person's rows; writes back ids (not undone on failure: the
 * callers do that). The caller holds a write scope. */
static avrr_err insert_person_rows(sq_store *s, avrr_person *p, int64_t now,
                                   avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_PERSON_INSERT, &st, e);

    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, p->tenant);
    bind_int(&rc, st, 2, p->restricted ? 1 : 0);
    bind_int(&rc, st, 3, now);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "person", e);
        goto out;
    }
    result = step_done(s, st, "tenant", "person", e);
    if (result != AVRR_OK)
        goto out;
    p->id = sqlite3_last_insert_rowid(s->db);
    p->created_at = now;
    stmt_done(st);
    st = NULL;
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
    stmt_done(st);
    return result;
}

/* Takes back the ids written back into a person that was not stored. */
static void person_unstored(avrr_person *p)
{
    p->id = 0;
    p->created_at = 0;
    for (size_t i = 0; i < p->n_identities; i++) {
        p->identities[i].id = 0;
        p->identities[i].person_id = 0;
        p->identities[i].created_at = 0;
    }
}

static avrr_err sq_person_insert(avrr_store *base, avrr_person *p,
                                 avrr_error *e)
{
    sq_store *s = sq(base);
    write_scope w;
    avrr_err result = scope_begin(s, &w, e);

    if (result != AVRR_OK)
        return result;
    result = insert_person_rows(s, p, now_seconds(), e);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK)
        person_unstored(p); /* nothing was stored */
    return result;
}

/* person_insert for many persons: one write scope (one savepoint inside
 * the caller's transaction) around the prepared inserts, all or nothing. */
static avrr_err sq_person_insert_many(avrr_store *base, avrr_person **ps,
                                      size_t n, avrr_error *e)
{
    sq_store *s = sq(base);
    write_scope w;
    int64_t now = now_seconds();
    avrr_err result;

    if (n == 0)
        return AVRR_OK;
    result = scope_begin(s, &w, e);
    if (result != AVRR_OK)
        return result;
    for (size_t i = 0; result == AVRR_OK && i < n; i++)
        result = insert_person_rows(s, ps[i], now, e);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK)
        for (size_t i = 0; i < n; i++)
            person_unstored(ps[i]);
    return result;
}

static avrr_err sq_identity_insert(avrr_store *base, const char *tenant,
                                   avrr_identity *id, avrr_error *e)
{
    sq_store *s = sq(base);
    write_scope w;
    bool owned = false;
    avrr_err result = scope_begin(s, &w, e);

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
static avrr_err read_identity(sq_store *s, sqlite3_stmt *st,
                              avrr_identity *id, avrr_error *e)
{
    int sex = 0;
    char ctx[24];
    avrr_err result;

    id->id = sqlite3_column_int64(st, 0);
    id->person_id = sqlite3_column_int64(st, 1);
    ctx_id(ctx, id->person_id);
    result = col_secret(s, st, 2, "identities.given_names", ctx,
                        &id->given_names, e);
    if (result == AVRR_OK)
        result = col_secret(s, st, 3, "identities.surname", ctx,
                            &id->surname, e);
    if (result == AVRR_OK)
        result = col_secret(s, st, 4, "identities.full_name", ctx,
                            &id->full_name, e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 5, avrr_sex_parse, &sex, "sex", e);
    id->sex = (avrr_sex)sex;
    if (result == AVRR_OK)
        result = col_secret_date(s, st, 6, "identities.birth_date", ctx,
                                 &id->birth_date, "birth date", e);
    if (result == AVRR_OK) {
        /* The text cannot say "1990-00-00" apart from "1990". */
        id->birth_date.precision = (uint8_t)sqlite3_column_int(st, 7);
        id->birth_date.placeholder = sqlite3_column_int(st, 8) != 0;
        result = col_fixed(s, st, 9, id->nationality,
                           sizeof id->nationality, "nationality", e);
    }
    if (result == AVRR_OK)
        result = col_secret(s, st, 10, "identities.birth_place", ctx,
                            &id->birth_place, e);
    if (result == AVRR_OK)
        result = col_secret(s, st, 11, "identities.address", ctx,
                            &id->address, e);
    if (result == AVRR_OK)
        result = col_secret(s, st, 12, "identities.national_ref", ctx,
                            &id->national_ref, e);
    if (result == AVRR_OK)
        result = col_secret(s, st, 13, "identities.eurodac_ref", ctx,
                            &id->eurodac_ref, e);
    id->created_at = sqlite3_column_int64(st, 14);
    return result;
}

/* Fills id->documents from the database. */
static avrr_err load_documents(sq_store *s, avrr_identity *id,
                               avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    char ctx[24];
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_DOCUMENTS_OF, &st, e);

    ctx_id(ctx, id->id);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id->id);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "reading documents", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_document *p =
            grow(id->documents, &cap, id->n_documents + 1, sizeof *p);
        avrr_document *d;
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        id->documents = p;
        d = &id->documents[id->n_documents++];
        result = col_str(st, 0, &d->type, e);
        if (result == AVRR_OK)
            result = col_secret(s, st, 1, "documents.number", ctx,
                                &d->number, e);
        if (result == AVRR_OK)
            result = col_fixed(s, st, 2, d->country, sizeof d->country,
                               "document country", e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "reading documents", e);
out:
    stmt_done(st);
    return result;
}

/* Fills p->identities (with documents) of a person read without them. */
static avrr_err load_identities(sq_store *s, avrr_person *p, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_IDENTITIES_OF, &st, e);

    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, p->id);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "reading identities", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_identity *arr =
            grow(p->identities, &cap, p->n_identities + 1, sizeof *arr);
        if (arr == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        p->identities = arr;
        result = read_identity(s, st, &p->identities[p->n_identities++], e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE) {
        result = sq_error(s, rc, NULL, "reading identities", e);
        goto out;
    }
    stmt_done(st);
    st = NULL;
    for (size_t i = 0; result == AVRR_OK && i < p->n_identities; i++)
        result = load_documents(s, &p->identities[i], e);
out:
    stmt_done(st);
    return result;
}

static avrr_err read_person(sq_store *s, sqlite3_stmt *st, avrr_person *p,
                            avrr_error *e)
{
    p->id = sqlite3_column_int64(st, 0);
    p->restricted = sqlite3_column_int(st, 2) != 0;
    p->created_at = sqlite3_column_int64(st, 3);
    p->erased_at = sqlite3_column_int64(st, 4); /* NULL: 0 */
    return col_fixed(s, st, 1, p->tenant, sizeof p->tenant, "tenant", e);
}

/* person_get (tenant given) and person_get_any (tenant NULL). */
static avrr_err get_person(sq_store *s, const char *tenant, int64_t id,
                           avrr_person *out, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(
        s, tenant != NULL ? ST_PERSON_GET : ST_PERSON_GET_ANY, &st, e);

    memset(out, 0, sizeof *out);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id);
    if (tenant != NULL)
        bind_text(&rc, st, 2, tenant);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no person %lld",
                                (long long)id);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        result = sq_error(s, rc, NULL, "reading the person", e);
        goto out;
    }
    result = read_person(s, st, out, e);
    stmt_done(st);
    st = NULL;
    if (result == AVRR_OK)
        result = load_identities(s, out, e);
out:
    stmt_done(st);
    if (result != AVRR_OK)
        avrr_person_clear(out);
    return result;
}

static avrr_err sq_person_get(avrr_store *base, const char *tenant,
                              int64_t id, avrr_person *out, avrr_error *e)
{
    /* NULL must not turn into "any tenant" here. */
    return get_person(sq(base), tenant != NULL ? tenant : "", id, out, e);
}

static avrr_err sq_person_get_any(avrr_store *base, int64_t id,
                                  avrr_person *out, avrr_error *e)
{
    return get_person(sq(base), NULL, id, out, e);
}

static avrr_err sq_person_list(avrr_store *base, const char *tenant,
                               int64_t after, size_t limit, avrr_person **out,
                               size_t *n, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_person *arr = NULL;
    size_t len = 0, cap = 0;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_PERSON_LIST, &st, e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, tenant != NULL ? tenant : "");
    bind_int(&rc, st, 2, after);
    bind_int(&rc, st, 3, (int64_t)clamp_limit(limit));
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "listing persons", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_person *p = grow(arr, &cap, len + 1, sizeof *arr);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        result = read_person(s, st, &arr[len++], e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE) {
        result = sq_error(s, rc, NULL, "listing persons", e);
        goto out;
    }
    stmt_done(st);
    st = NULL;
    for (size_t i = 0; result == AVRR_OK && i < len; i++)
        result = load_identities(s, &arr[i], e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        avrr_store_free_persons(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

/* ---- cases ------------------------------------------------------------------------ */

static avrr_err sq_case_insert(avrr_store *base, avrr_case *c, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *rtype = avrr_return_type_name((int)c->return_type);
    const char *status = avrr_case_status_name((int)c->status);
    char opened[11], closed[11];
    int64_t now = now_seconds();
    bool owned = false;
    int rc = SQLITE_OK;
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
    result = scope_begin(s, &w, e);
    if (result != AVRR_OK)
        return result;
    result = owned_by(s, ST_PERSON_OWNED, c->person_id, c->tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "person_id",
                                "no person %lld", (long long)c->person_id);
    if (result == AVRR_OK)
        result = stmt_get(s, ST_CASE_INSERT, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, c->tenant);
    bind_int(&rc, st, 2, c->person_id);
    bind_text(&rc, st, 3, c->destination_country);
    bind_text(&rc, st, 4, rtype);
    bind_text(&rc, st, 5, c->programme);
    bind_text(&rc, st, 6, status);
    bind_text(&rc, st, 7, opened);
    bind_text(&rc, st, 8, closed);
    bind_int(&rc, st, 9, now);
    bind_int(&rc, st, 10, c->adults);
    bind_int(&rc, st, 11, c->minors);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "case", e);
        goto out;
    }
    result = step_done(s, st, NULL, "case", e);
    if (result == AVRR_OK) {
        c->id = sqlite3_last_insert_rowid(s->db);
        c->created_at = now;
        c->updated_at = now;
    }
out:
    stmt_done(st);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK) {
        c->id = 0;
        c->created_at = 0;
        c->updated_at = 0;
    }
    return result;
}

/* Reads a case row (CASE_COLS) into a zeroed *c. */
static avrr_err read_case(sq_store *s, sqlite3_stmt *st, avrr_case *c,
                          avrr_error *e)
{
    int rtype = 0, status = 0;
    avrr_err result;

    c->id = sqlite3_column_int64(st, 0);
    c->person_id = sqlite3_column_int64(st, 1);
    c->created_at = sqlite3_column_int64(st, 9);
    c->updated_at = sqlite3_column_int64(st, 10);
    c->adults = sqlite3_column_int(st, 11);
    c->minors = sqlite3_column_int(st, 12);
    result = col_fixed(s, st, 2, c->tenant, sizeof c->tenant, "tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 3, c->destination_country,
                           sizeof c->destination_country,
                           "destination country", e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 4, avrr_return_type_parse, &rtype,
                          "return type", e);
    if (result == AVRR_OK)
        result = col_str(st, 5, &c->programme, e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 6, avrr_case_status_parse, &status,
                          "case status", e);
    if (result == AVRR_OK)
        result = col_date(s, st, 7, &c->opened_on, "opening date", e);
    if (result == AVRR_OK)
        result = col_date(s, st, 8, &c->closed_on, "closing date", e);
    c->return_type = (avrr_return_type)rtype;
    c->status = (avrr_case_status)status;
    return result;
}

static avrr_err sq_case_get(avrr_store *base, const char *tenant, int64_t id,
                            avrr_case *out, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_CASE_GET, &st, e);

    memset(out, 0, sizeof *out);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id);
    bind_text(&rc, st, 2, tenant != NULL ? tenant : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = read_case(s, st, out, e);
    else if (rc == SQLITE_DONE)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no case %lld",
                                (long long)id);
    else
        result = sq_error(s, rc, NULL, "reading the case", e);
out:
    stmt_done(st);
    if (result != AVRR_OK)
        avrr_case_clear(out);
    return result;
}

static avrr_err sq_case_list(avrr_store *base, const char *tenant,
                             int64_t person_id, int64_t after, size_t limit,
                             avrr_case **out, size_t *n, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_case *arr = NULL;
    size_t len = 0, cap = 0;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(
        s, person_id > 0 ? ST_CASE_LIST_PERSON : ST_CASE_LIST, &st, e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, tenant != NULL ? tenant : "");
    bind_int(&rc, st, 2, after);
    bind_int(&rc, st, 3, (int64_t)clamp_limit(limit));
    if (person_id > 0)
        bind_int(&rc, st, 4, person_id);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "listing cases", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_case *p = grow(arr, &cap, len + 1, sizeof *arr);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        result = read_case(s, st, &arr[len++], e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "listing cases", e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        avrr_store_free_cases(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err sq_case_update(avrr_store *base, avrr_case *c, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *status = avrr_case_status_name((int)c->status);
    char closed[11];
    int64_t now = now_seconds();
    int rc = SQLITE_OK;
    avrr_err result;

    if (status == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "unknown case status");
    avrr_date_format(&c->closed_on, closed);
    result = stmt_get(s, ST_CASE_UPDATE, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, c->id);
    bind_text(&rc, st, 2, c->tenant);
    bind_text(&rc, st, 3, status);
    bind_text(&rc, st, 4, closed);
    bind_int(&rc, st, 5, now);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "case", e);
        goto out;
    }
    result = step_done(s, st, NULL, "case", e);
    if (result == AVRR_OK && sqlite3_changes(s->db) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no case %lld",
                                (long long)c->id);
    if (result == AVRR_OK)
        c->updated_at = now;
out:
    stmt_done(st);
    return result;
}

/* ---- assistance ----------------------------------------------------------------------- */

static avrr_err sq_assistance_insert(avrr_store *base, avrr_assistance *a,
                                     avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *kind = avrr_assistance_kind_name((int)a->kind);
    const char *funding = avrr_funding_name((int)a->funding);
    const char *status = avrr_assistance_status_name((int)a->status);
    char granted[11], delivered[11];
    int64_t now = now_seconds();
    bool owned = false;
    int rc = SQLITE_OK;
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
    result = scope_begin(s, &w, e);
    if (result != AVRR_OK)
        return result;
    result = owned_by(s, ST_CASE_OWNED, a->case_id, a->tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "case_id", "no case %lld",
                                (long long)a->case_id);
    if (result == AVRR_OK)
        result = stmt_get(s, ST_ASSIST_INSERT, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, a->tenant);
    bind_int(&rc, st, 2, a->case_id);
    bind_text(&rc, st, 3, kind);
    bind_int(&rc, st, 4, a->amount_cents);
    bind_int(&rc, st, 5, a->cash ? 1 : 0);
    bind_text(&rc, st, 6, a->provider);
    bind_text(&rc, st, 7, funding);
    bind_text(&rc, st, 8, granted);
    bind_text(&rc, st, 9, delivered);
    bind_text(&rc, st, 10, status);
    bind_int(&rc, st, 11, now);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "assistance", e);
        goto out;
    }
    result = step_done(s, st, NULL, "assistance", e);
    if (result == AVRR_OK) {
        a->id = sqlite3_last_insert_rowid(s->db);
        a->created_at = now;
    }
out:
    stmt_done(st);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK) {
        a->id = 0;
        a->created_at = 0;
    }
    return result;
}

/* Reads an assistance row (ASSIST_COLS) into a zeroed *a. */
static avrr_err read_assistance(sq_store *s, sqlite3_stmt *st,
                                avrr_assistance *a, avrr_error *e)
{
    int kind = 0, funding = 0, status = 0;
    avrr_err result;

    a->id = sqlite3_column_int64(st, 0);
    a->case_id = sqlite3_column_int64(st, 1);
    a->amount_cents = sqlite3_column_int64(st, 4);
    a->cash = sqlite3_column_int(st, 5) != 0;
    a->created_at = sqlite3_column_int64(st, 11);
    result = col_fixed(s, st, 2, a->tenant, sizeof a->tenant, "tenant", e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 3, avrr_assistance_kind_parse, &kind,
                          "assistance kind", e);
    if (result == AVRR_OK)
        result = col_str(st, 6, &a->provider, e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 7, avrr_funding_parse, &funding, "funding",
                          e);
    if (result == AVRR_OK)
        result = col_date(s, st, 8, &a->granted_on, "grant date", e);
    if (result == AVRR_OK)
        result = col_date(s, st, 9, &a->delivered_on, "delivery date", e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 10, avrr_assistance_status_parse, &status,
                          "assistance status", e);
    a->kind = (avrr_assistance_kind)kind;
    a->funding = (avrr_funding)funding;
    a->status = (avrr_assistance_status)status;
    return result;
}

static avrr_err sq_assistance_list(avrr_store *base, const char *tenant,
                                   int64_t case_id, avrr_assistance **out,
                                   size_t *n, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_assistance *arr = NULL;
    size_t len = 0, cap = 0;
    bool owned = false;
    int rc = SQLITE_OK;
    avrr_err result;

    *out = NULL;
    *n = 0;
    result = owned_by(s, ST_CASE_OWNED, case_id, tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "case_id", "no case %lld",
                                (long long)case_id);
    if (result == AVRR_OK)
        result = stmt_get(s, ST_ASSIST_LIST, &st, e);
    if (result != AVRR_OK)
        goto out;
    /* The case is the tenant's (checked above), so are its grants. */
    bind_int(&rc, st, 1, case_id);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "listing assistance", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_assistance *p = grow(arr, &cap, len + 1, sizeof *arr);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        result = read_assistance(s, st, &arr[len++], e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "listing assistance", e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        avrr_store_free_assistance(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err sq_person_assistance(avrr_store *base, int64_t person_id,
                                     avrr_assistance **out, size_t *n,
                                     avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_assistance *arr = NULL;
    size_t len = 0, cap = 0;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_ASSIST_OF_PERSON, &st, e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, person_id);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "listing assistance", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_assistance *p = grow(arr, &cap, len + 1, sizeof *arr);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        result = read_assistance(s, st, &arr[len++], e);
        if (result == AVRR_OK)
            result = col_str(st, 12, &arr[len - 1].programme, e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "listing assistance", e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        avrr_store_free_assistance(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

/* ---- checks ------------------------------------------------------------- */

static avrr_err insert_hits(sq_store *s, const avrr_check *c, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    avrr_err result = stmt_get(s, ST_HIT_INSERT, &st, e);

    for (size_t i = 0; result == AVRR_OK && i < c->n_hits; i++) {
        const avrr_check_hit *h = &c->hits[i];
        const char *band = avrr_band_name((int)h->band);
        int rc = SQLITE_OK;

        if (band == NULL) {
            result = avrr_error_set(e, AVRR_EINVALID, "band", "unknown band");
        } else {
            bind_int(&rc, st, 1, c->id);
            bind_int(&rc, st, 2, h->person_id);
            bind_text(&rc, st, 3, h->tenant);
            bind_text(&rc, st, 4, h->person_ref);
            bind_double(&rc, st, 5, h->probability);
            bind_text(&rc, st, 6, band);
            if (rc != SQLITE_OK)
                result = sq_error(s, rc, NULL, "check hit", e);
            else
                result = step_done(s, st, NULL, "check hit", e);
            stmt_done(st);
        }
        if (result != AVRR_OK && e != NULL) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "hits[%zu]", i);
            avrr_error_prefix_field(e, prefix);
        }
    }
    return result;
}

static avrr_err sq_check_insert(avrr_store *base, avrr_check *c,
                                avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *purpose = avrr_purpose_name((int)c->purpose);
    int64_t now = now_seconds();
    bool owned = true;
    int rc = SQLITE_OK;
    write_scope w;
    avrr_err result;

    if (purpose == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "purpose", "unknown purpose");
    result = scope_begin(s, &w, e);
    if (result != AVRR_OK)
        return result;
    /* The requester's own person, when given, must be the requester's. */
    if (c->person_id > 0)
        result = owned_by(s, ST_PERSON_OWNED, c->person_id, c->tenant,
                          &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "person_id",
                                "no person %lld", (long long)c->person_id);
    if (result == AVRR_OK)
        result = stmt_get(s, ST_CHECK_INSERT, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, c->tenant);
    bind_ref(&rc, st, 2, c->key_id);
    bind_text(&rc, st, 3, purpose);
    bind_ref(&rc, st, 4, c->person_id);
    bind_secret(s, &rc, st, 5, "checks.request_json", c->tenant,
                c->request_json);
    bind_text(&rc, st, 6, c->response_json);
    bind_int(&rc, st, 7, now);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "check", e);
        goto out;
    }
    result = step_done(s, st, "tenant", "check", e);
    if (result != AVRR_OK)
        goto out;
    c->id = sqlite3_last_insert_rowid(s->db);
    c->created_at = now;
    stmt_done(st);
    st = NULL;
    result = insert_hits(s, c, e);
out:
    stmt_done(st);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK) {
        c->id = 0;
        c->created_at = 0;
    }
    return result;
}

/* Fills c->hits of a check read without them. */
static avrr_err load_hits(sq_store *s, avrr_check *c, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_HITS_OF, &st, e);

    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, c->id);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "reading check hits", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_check_hit *p = grow(c->hits, &cap, c->n_hits + 1, sizeof *p);
        avrr_check_hit *h;
        int band = 0;
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        c->hits = p;
        h = &c->hits[c->n_hits++];
        h->person_id = sqlite3_column_int64(st, 0);
        h->probability = sqlite3_column_double(st, 3);
        result = col_fixed(s, st, 1, h->tenant, sizeof h->tenant,
                           "hit tenant", e);
        if (result == AVRR_OK)
            result = col_fixed(s, st, 2, h->person_ref, sizeof h->person_ref,
                               "person reference", e);
        if (result == AVRR_OK)
            result = col_enum(s, st, 4, band_parse, &band, "band", e);
        h->band = (avrr_band)band;
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "reading check hits", e);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_check_get(avrr_store *base, const char *tenant,
                             int64_t id, avrr_check *out, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int purpose = 0;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_CHECK_GET, &st, e);

    memset(out, 0, sizeof *out);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id);
    bind_text(&rc, st, 2, tenant != NULL ? tenant : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no check %lld",
                                (long long)id);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        result = sq_error(s, rc, NULL, "reading the check", e);
        goto out;
    }
    out->id = sqlite3_column_int64(st, 0);
    out->key_id = sqlite3_column_int64(st, 2);
    out->person_id = sqlite3_column_int64(st, 4);
    out->created_at = sqlite3_column_int64(st, 7);
    result = col_fixed(s, st, 1, out->tenant, sizeof out->tenant, "tenant",
                       e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 3, avrr_purpose_parse, &purpose, "purpose",
                          e);
    out->purpose = (avrr_purpose)purpose;
    if (result == AVRR_OK)
        result = col_secret(s, st, 5, "checks.request_json", out->tenant,
                            &out->request_json, e);
    if (result == AVRR_OK)
        result = col_str(st, 6, &out->response_json, e);
    stmt_done(st);
    st = NULL;
    if (result == AVRR_OK)
        result = load_hits(s, out, e);
out:
    stmt_done(st);
    if (result != AVRR_OK)
        avrr_check_clear(out);
    return result;
}

/* ---- links -------------------------------------------------------------- */

static avrr_err sq_link_insert(avrr_store *base, avrr_link *l, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *status = avrr_link_status_name((int)l->status);
    int64_t now = now_seconds();
    bool owned = true;
    int rc = SQLITE_OK;
    write_scope w;
    avrr_err result;

    if (status == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "unknown link status");
    /* Persons carry no foreign key (erasure keeps the link), so the store
     * checks here that each side is a person of its tenant. */
    result = scope_begin(s, &w, e);
    if (result != AVRR_OK)
        return result;
    if (l->person_a > 0)
        result = owned_by(s, ST_PERSON_OWNED, l->person_a, l->tenant_a,
                          &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "person_a",
                                "no person %lld", (long long)l->person_a);
    if (result == AVRR_OK)
        result = owned_by(s, ST_PERSON_OWNED, l->person_b, l->tenant_b,
                          &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "person_b",
                                "no person %lld", (long long)l->person_b);
    if (result == AVRR_OK)
        result = stmt_get(s, ST_LINK_INSERT, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_ref(&rc, st, 1, l->person_a);
    bind_text(&rc, st, 2, l->tenant_a);
    bind_int(&rc, st, 3, l->person_b);
    bind_text(&rc, st, 4, l->tenant_b);
    bind_ref(&rc, st, 5, l->check_id);
    bind_text(&rc, st, 6, l->source);
    bind_text(&rc, st, 7, status);
    bind_double(&rc, st, 8, l->probability);
    bind_text(&rc, st, 9, l->reason);
    bind_int(&rc, st, 10, now);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "link", e);
        goto out;
    }
    result = step_done(s, st, NULL, "link", e);
    if (result == AVRR_OK) {
        l->id = sqlite3_last_insert_rowid(s->db);
        l->created_at = now;
    }
out:
    stmt_done(st);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK) {
        l->id = 0;
        l->created_at = 0;
    }
    return result;
}

/* link_insert for the links a check opens: one write scope around the
 * inserts, all or nothing. */
static avrr_err sq_link_insert_many(avrr_store *base, avrr_link *ls, size_t n,
                                    avrr_error *e)
{
    sq_store *s = sq(base);
    write_scope w;
    avrr_err result;

    if (n == 0)
        return AVRR_OK;
    result = scope_begin(s, &w, e);
    if (result != AVRR_OK)
        return result;
    for (size_t i = 0; result == AVRR_OK && i < n; i++)
        result = sq_link_insert(base, &ls[i], e);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK)
        for (size_t i = 0; i < n; i++) {
            ls[i].id = 0;
            ls[i].created_at = 0;
        }
    return result;
}

/* Reads a link row (LINK_COLS) into a zeroed *l. */
static avrr_err read_link(sq_store *s, sqlite3_stmt *st, avrr_link *l,
                          avrr_error *e)
{
    int status = 0;
    avrr_err result;

    l->id = sqlite3_column_int64(st, 0);
    l->person_a = sqlite3_column_int64(st, 1);
    l->person_b = sqlite3_column_int64(st, 3);
    l->check_id = sqlite3_column_int64(st, 5);
    l->probability = sqlite3_column_double(st, 8);
    l->resolved_key_id = sqlite3_column_int64(st, 11);
    l->resolved_at = sqlite3_column_int64(st, 12);
    l->created_at = sqlite3_column_int64(st, 13);
    result = col_fixed(s, st, 2, l->tenant_a, sizeof l->tenant_a, "tenant",
                       e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 4, l->tenant_b, sizeof l->tenant_b,
                           "tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 6, l->source, sizeof l->source,
                           "link source", e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 7, avrr_link_status_parse, &status,
                          "link status", e);
    l->status = (avrr_link_status)status;
    if (result == AVRR_OK)
        result = col_str(st, 9, &l->reason, e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 10, l->resolved_by, sizeof l->resolved_by,
                           "tenant", e);
    return result;
}

static avrr_err sq_link_get(avrr_store *base, const char *tenant, int64_t id,
                            avrr_link *out, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_LINK_GET, &st, e);

    memset(out, 0, sizeof *out);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id);
    bind_text(&rc, st, 2, tenant != NULL ? tenant : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = read_link(s, st, out, e);
    else if (rc == SQLITE_DONE)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no link %lld",
                                (long long)id);
    else
        result = sq_error(s, rc, NULL, "reading the link", e);
out:
    stmt_done(st);
    if (result != AVRR_OK)
        avrr_link_clear(out);
    return result;
}

/* Steps a bound statement of LINK_COLS rows into a new array. */
static avrr_err read_links(sq_store *s, sqlite3_stmt *st, avrr_link **out,
                           size_t *n, avrr_error *e)
{
    avrr_link *arr = NULL;
    size_t len = 0, cap = 0;
    avrr_err result = AVRR_OK;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_link *p = grow(arr, &cap, len + 1, sizeof *arr);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        result = read_link(s, st, &arr[len++], e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "listing links", e);
out:
    if (result != AVRR_OK) {
        avrr_store_free_links(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err sq_link_list(avrr_store *base, const char *tenant,
                             int status, int64_t after, size_t limit,
                             avrr_link **out, size_t *n, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *status_name = NULL;
    int rc = SQLITE_OK;
    avrr_err result;

    *out = NULL;
    *n = 0;
    if (status >= 0) {
        status_name = avrr_link_status_name(status);
        if (status_name == NULL)
            return avrr_error_set(e, AVRR_EINVALID, "status",
                                  "unknown link status");
    }
    result = stmt_get(s, status_name != NULL ? ST_LINK_LIST_STATUS
                                             : ST_LINK_LIST,
                      &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, tenant != NULL ? tenant : "");
    bind_int(&rc, st, 2, after);
    bind_int(&rc, st, 3, (int64_t)clamp_limit(limit));
    if (status_name != NULL)
        bind_text(&rc, st, 4, status_name);
    if (rc != SQLITE_OK)
        result = sq_error(s, rc, NULL, "listing links", e);
    else
        result = read_links(s, st, out, n, e);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_links_of_person(avrr_store *base, int64_t person_id,
                                   avrr_link **out, size_t *n, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_LINKS_OF_PERSON, &st, e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, person_id);
    if (rc != SQLITE_OK)
        result = sq_error(s, rc, NULL, "listing links", e);
    else
        result = read_links(s, st, out, n, e);
out:
    stmt_done(st);
    return result;
}

/* After an UPDATE ... AND status = <open> that changed nothing: ECONFLICT
 * when the row is there for `tenant` (decided meanwhile), else ENOTFOUND. */
static avrr_err not_open(sq_store *s, enum stmt_id exists, int64_t id,
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

static avrr_err sq_link_resolve(avrr_store *base, avrr_link *l,
                                avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *status = avrr_link_status_name((int)l->status);
    int64_t now = now_seconds();
    int rc = SQLITE_OK;
    avrr_err result;

    if (status == NULL || l->status == AVRR_LINK_YELLOW)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "a link is resolved to white, green or red");
    result = stmt_get(s, ST_LINK_RESOLVE, &st, e);
    if (result != AVRR_OK)
        goto out;
    /* The resolver must be a party; "" (the operator) may resolve any. */
    bind_int(&rc, st, 1, l->id);
    bind_text(&rc, st, 2, l->resolved_by);
    bind_text(&rc, st, 3, status);
    bind_text(&rc, st, 4, l->reason);
    bind_code(&rc, st, 5, l->resolved_by);
    bind_ref(&rc, st, 6, l->resolved_key_id);
    bind_int(&rc, st, 7, now);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "link", e);
        goto out;
    }
    result = step_done(s, st, NULL, "link", e);
    if (result == AVRR_OK && sqlite3_changes(s->db) == 0)
        result = not_open(s, ST_LINK_PARTY, l->id, l->resolved_by, "link", e);
    if (result == AVRR_OK)
        l->resolved_at = now;
out:
    stmt_done(st);
    return result;
}

/* ---- disclosures -------------------------------------------------------- */

static avrr_err sq_disclosure_insert(avrr_store *base, avrr_disclosure *d,
                                     avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int64_t now = now_seconds();
    bool owned = false;
    int rc = SQLITE_OK;
    write_scope w;
    avrr_err result = scope_begin(s, &w, e);

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
    if (result == AVRR_OK)
        result = stmt_get(s, ST_DISCLOSURE_INSERT, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, d->check_id);
    bind_text(&rc, st, 2, d->requester);
    bind_ref(&rc, st, 3, d->requester_key_id);
    bind_text(&rc, st, 4, d->owner);
    bind_int(&rc, st, 5, d->person_id);
    bind_text(&rc, st, 6, d->person_ref);
    bind_text(&rc, st, 7, d->reason);
    bind_int(&rc, st, 8, now);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "disclosure", e);
        goto out;
    }
    result = step_done(s, st, NULL, "disclosure", e);
    if (result == AVRR_OK) {
        /* A new request is always pending, whatever d->status said. */
        d->id = sqlite3_last_insert_rowid(s->db);
        d->status = AVRR_DISCLOSURE_PENDING;
        d->created_at = now;
    }
out:
    stmt_done(st);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK) {
        d->id = 0;
        d->created_at = 0;
    }
    return result;
}

/* Reads a disclosure row (DISCLOSURE_COLS) into a zeroed *d. */
static avrr_err read_disclosure(sq_store *s, sqlite3_stmt *st,
                                avrr_disclosure *d, avrr_error *e)
{
    int status = 0;
    avrr_err result;

    d->id = sqlite3_column_int64(st, 0);
    d->check_id = sqlite3_column_int64(st, 1);
    d->requester_key_id = sqlite3_column_int64(st, 3);
    d->person_id = sqlite3_column_int64(st, 5);
    d->decided_key_id = sqlite3_column_int64(st, 10);
    d->decided_at = sqlite3_column_int64(st, 11);
    d->created_at = sqlite3_column_int64(st, 12);
    result = col_fixed(s, st, 2, d->requester, sizeof d->requester,
                       "tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 4, d->owner, sizeof d->owner, "tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 6, d->person_ref, sizeof d->person_ref,
                           "person reference", e);
    if (result == AVRR_OK)
        result = col_str(st, 7, &d->reason, e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 8, avrr_disclosure_status_parse, &status,
                          "disclosure status", e);
    d->status = (avrr_disclosure_status)status;
    if (result == AVRR_OK)
        result = col_str(st, 9, &d->decision_reason, e);
    return result;
}

static avrr_err sq_disclosure_get(avrr_store *base, const char *tenant,
                                  int64_t id, avrr_disclosure *out,
                                  avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_DISCLOSURE_GET, &st, e);

    memset(out, 0, sizeof *out);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id);
    bind_text(&rc, st, 2, tenant != NULL ? tenant : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = read_disclosure(s, st, out, e);
    else if (rc == SQLITE_DONE)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id",
                                "no disclosure %lld", (long long)id);
    else
        result = sq_error(s, rc, NULL, "reading the disclosure", e);
out:
    stmt_done(st);
    if (result != AVRR_OK)
        avrr_disclosure_clear(out);
    return result;
}

static avrr_err sq_disclosure_list(avrr_store *base, const char *tenant,
                                   int status, int64_t after, size_t limit,
                                   avrr_disclosure **out, size_t *n,
                                   avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_disclosure *arr = NULL;
    const char *status_name = NULL;
    size_t len = 0, cap = 0;
    int rc = SQLITE_OK;
    avrr_err result;

    *out = NULL;
    *n = 0;
    if (status >= 0) {
        status_name = avrr_disclosure_status_name(status);
        if (status_name == NULL)
            return avrr_error_set(e, AVRR_EINVALID, "status",
                                  "unknown disclosure status");
    }
    result = stmt_get(s, status_name != NULL ? ST_DISCLOSURE_LIST_STATUS
                                             : ST_DISCLOSURE_LIST,
                      &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, tenant != NULL ? tenant : "");
    bind_int(&rc, st, 2, after);
    bind_int(&rc, st, 3, (int64_t)clamp_limit(limit));
    if (status_name != NULL)
        bind_text(&rc, st, 4, status_name);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "listing disclosures", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_disclosure *p = grow(arr, &cap, len + 1, sizeof *arr);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        result = read_disclosure(s, st, &arr[len++], e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "listing disclosures", e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        avrr_store_free_disclosures(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err sq_disclosure_decide(avrr_store *base, avrr_disclosure *d,
                                     avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *status = avrr_disclosure_status_name((int)d->status);
    int64_t now = now_seconds();
    int rc = SQLITE_OK;
    avrr_err result;

    if (status == NULL || d->status == AVRR_DISCLOSURE_PENDING)
        return avrr_error_set(e, AVRR_EINVALID, "status",
                              "a disclosure is approved or refused");
    result = stmt_get(s, ST_DISCLOSURE_DECIDE, &st, e);
    if (result != AVRR_OK)
        goto out;
    /* Only the owner decides; "" (the operator) may decide any. */
    bind_int(&rc, st, 1, d->id);
    bind_text(&rc, st, 2, d->owner);
    bind_text(&rc, st, 3, status);
    bind_text(&rc, st, 4, d->decision_reason);
    bind_ref(&rc, st, 5, d->decided_key_id);
    bind_int(&rc, st, 6, now);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "disclosure", e);
        goto out;
    }
    result = step_done(s, st, NULL, "disclosure", e);
    if (result == AVRR_OK && sqlite3_changes(s->db) == 0)
        result = not_open(s, ST_DISCLOSURE_OWNED, d->id, d->owner,
                          "disclosure", e);
    if (result == AVRR_OK)
        d->decided_at = now;
out:
    stmt_done(st);
    return result;
}

/* ---- privacy: audit log -------------------------------------------------- */

/* The longest text of a fixed buffer (without relying on a NUL in it). */
static void bind_fixed(int *rc, sqlite3_stmt *st, int i, const char *buf,
                       size_t size)
{
    if (*rc == SQLITE_OK)
        *rc = sqlite3_bind_text(st, i, buf, (int)strnlen(buf, size),
                                SQLITE_STATIC);
}

/* A blob column of exactly n bytes (hashes, keys, signatures). */
static avrr_err col_blob(sq_store *s, sqlite3_stmt *st, int i, uint8_t *out,
                         size_t n, const char *what, avrr_error *e)
{
    const void *p = sqlite3_column_blob(st, i);

    if (p == NULL || (size_t)sqlite3_column_bytes(st, i) != n)
        return corrupt(s, what, e);
    memcpy(out, p, n);
    return AVRR_OK;
}

#define META_ANCHOR_SEQ "audit_anchor_seq"
#define META_ANCHOR_HASH "audit_anchor_hash"

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

/* The retention anchor: seq 0 and zeros until a purge set one. */
static avrr_err read_anchor(sq_store *s, int64_t *seq, uint8_t hash[32],
                            avrr_error *e)
{
    char *seq_text = NULL, *hash_text = NULL, *end = NULL;
    avrr_error local = {0};
    avrr_err result;

    *seq = 0;
    memset(hash, 0, 32);
    result = sq_meta_get(&s->base, META_ANCHOR_SEQ, &seq_text, &local);
    if (result == AVRR_ENOTFOUND)
        return AVRR_OK; /* no purge yet */
    if (result != AVRR_OK) {
        if (e != NULL)
            *e = local;
        goto out;
    }
    result = sq_meta_get(&s->base, META_ANCHOR_HASH, &hash_text, e);
    if (result == AVRR_ENOTFOUND) {
        result = corrupt(s, "audit anchor", e);
        goto out;
    }
    if (result != AVRR_OK)
        goto out;
    errno = 0;
    *seq = strtoll(seq_text, &end, 10);
    if (errno != 0 || end == seq_text || *end != '\0' || *seq < 0 ||
        strlen(hash_text) != 64) {
        result = corrupt(s, "audit anchor", e);
        goto out;
    }
    for (size_t i = 0; i < 32; i++) {
        int hi = hex_value(hash_text[2 * i]);
        int lo = hex_value(hash_text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            result = corrupt(s, "audit anchor", e);
            goto out;
        }
        hash[i] = (uint8_t)(hi << 4 | lo);
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
static avrr_err write_anchor(sq_store *s, int64_t seq, const uint8_t hash[32],
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
    result = sq_meta_set(&s->base, META_ANCHOR_SEQ, seq_text, e);
    if (result == AVRR_OK)
        result = sq_meta_set(&s->base, META_ANCHOR_HASH, hash_text, e);
    return result;
}

/* The head of the chain: the newest event, or the anchor when retention
 * removed every event (seq 0 and zeros for a new log). */
static avrr_err audit_head(sq_store *s, int64_t *seq, uint8_t hash[32],
                           avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc;
    avrr_err result = stmt_get(s, ST_AUDIT_HEAD, &st, e);

    *seq = 0;
    memset(hash, 0, 32);
    if (result != AVRR_OK)
        goto out;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        result = col_blob(s, st, 1, hash, 32, "audit hash", e);
    } else if (rc == SQLITE_DONE) {
        stmt_done(st);
        st = NULL;
        result = read_anchor(s, seq, hash, e);
    } else {
        result = sq_error(s, rc, NULL, "reading the audit log", e);
    }
out:
    stmt_done(st);
    return result;
}

/* Inserts a chained event (seq, prev_hash and hash set). The caller holds
 * a write scope. */
static avrr_err insert_event(sq_store *s, const avrr_audit_event *ev,
                             avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_AUDIT_INSERT, &st, e);

    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, ev->seq);
    bind_int(&rc, st, 2, ev->ts_ms);
    bind_int(&rc, st, 3, ev->key_id);
    bind_fixed(&rc, st, 4, ev->tenant, sizeof ev->tenant);
    bind_fixed(&rc, st, 5, ev->role, sizeof ev->role);
    bind_fixed(&rc, st, 6, ev->action, sizeof ev->action);
    bind_fixed(&rc, st, 7, ev->target_type, sizeof ev->target_type);
    bind_int(&rc, st, 8, ev->target_id);
    bind_fixed(&rc, st, 9, ev->purpose, sizeof ev->purpose);
    bind_fixed(&rc, st, 10, ev->request_id, sizeof ev->request_id);
    bind_fixed(&rc, st, 11, ev->outcome, sizeof ev->outcome);
    bind_blob(&rc, st, 12, ev->prev_hash, 32);
    bind_blob(&rc, st, 13, ev->hash, 32);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "audit event", e);
        goto out;
    }
    result = step_done(s, st, NULL, "audit event", e);
out:
    stmt_done(st);
    return result;
}

/* audit_append for n events chained in array order, under one write scope
 * and one read of the head; all or nothing. n == 1 is audit_append. */
static avrr_err sq_audit_append_many(avrr_store *base, avrr_audit_event *evs,
                                     size_t n,
                                     void (*chain)(avrr_audit_event *ev),
                                     avrr_error *e)
{
    sq_store *s = sq(base);
    int64_t head = 0;
    uint8_t prev[32];
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
    /* BEGIN IMMEDIATE (or the caller's transaction, which began so): the
     * head is read under the write lock, so that two processes appending
     * to one file cannot both take seq + 1. */
    result = scope_begin(s, &w, e);
    if (result != AVRR_OK)
        return result;
    result = audit_head(s, &head, prev, e);
    for (size_t i = 0; result == AVRR_OK && i < n; i++) {
        avrr_audit_event *ev = &evs[i];
        ev->seq = head + 1 + (int64_t)i;
        memcpy(ev->prev_hash, i == 0 ? prev : evs[i - 1].hash,
               sizeof ev->prev_hash);
        chain(ev);
        result = insert_event(s, ev, e);
    }
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK)
        for (size_t i = 0; i < n; i++)
            evs[i].seq = 0;
    return result;
}

static avrr_err sq_audit_append(avrr_store *base, avrr_audit_event *ev,
                                void (*chain)(avrr_audit_event *ev),
                                avrr_error *e)
{
    return sq_audit_append_many(base, ev, 1, chain, e);
}

/* Reads an audit row (AUDIT_COLS) into *ev. */
static avrr_err read_event(sq_store *s, sqlite3_stmt *st,
                           avrr_audit_event *ev, avrr_error *e)
{
    avrr_err result;

    memset(ev, 0, sizeof *ev);
    ev->seq = sqlite3_column_int64(st, 0);
    ev->ts_ms = sqlite3_column_int64(st, 1);
    ev->key_id = sqlite3_column_int64(st, 2);
    ev->target_id = sqlite3_column_int64(st, 7);
    result = col_fixed(s, st, 3, ev->tenant, sizeof ev->tenant,
                       "audit tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 4, ev->role, sizeof ev->role,
                           "audit role", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 5, ev->action, sizeof ev->action,
                           "audit action", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 6, ev->target_type, sizeof ev->target_type,
                           "audit target type", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 8, ev->purpose, sizeof ev->purpose,
                           "audit purpose", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 9, ev->request_id, sizeof ev->request_id,
                           "audit request id", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 10, ev->outcome, sizeof ev->outcome,
                           "audit outcome", e);
    if (result == AVRR_OK)
        result = col_blob(s, st, 11, ev->prev_hash, sizeof ev->prev_hash,
                          "audit hash", e);
    if (result == AVRR_OK)
        result = col_blob(s, st, 12, ev->hash, sizeof ev->hash, "audit hash",
                          e);
    return result;
}

/* Appends the rows of a bound statement of AUDIT_COLS to *arr. */
static avrr_err read_events(sq_store *s, sqlite3_stmt *st,
                            avrr_audit_event **arr, size_t *len, size_t *cap,
                            size_t max, avrr_error *e)
{
    int rc = SQLITE_OK;

    while (*len < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_audit_event *p = grow(*arr, cap, *len + 1, sizeof *p);
        avrr_err result;
        if (p == NULL)
            return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
        *arr = p;
        result = read_event(s, st, &(*arr)[*len], e);
        if (result != AVRR_OK)
            return result;
        (*len)++;
    }
    if (*len < max && rc != SQLITE_DONE)
        return sq_error(s, rc, NULL, "reading the audit log", e);
    return AVRR_OK;
}

static avrr_err sq_audit_scan(avrr_store *base, int64_t after,
                              int (*cb)(void *arg, const avrr_audit_event *ev),
                              void *arg, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_audit_event *batch = NULL;
    size_t len = 0, cap = 0;
    avrr_err result = AVRR_OK;

    /* As identity_scan: read a batch, release the statement, call back. */
    for (;;) {
        int rc = SQLITE_OK;

        len = 0;
        result = stmt_get(s, ST_AUDIT_SCAN, &st, e);
        if (result != AVRR_OK)
            goto out;
        bind_int(&rc, st, 1, after);
        bind_int(&rc, st, 2, SCAN_BATCH);
        if (rc != SQLITE_OK) {
            result = sq_error(s, rc, NULL, "scanning the audit log", e);
            goto out;
        }
        result = read_events(s, st, &batch, &len, &cap, SCAN_BATCH, e);
        stmt_done(st);
        st = NULL;
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
    }
out:
    stmt_done(st);
    avrr_free(batch);
    return result;
}

static avrr_err sq_audit_list(avrr_store *base, const char *tenant,
                              int64_t after, size_t limit,
                              avrr_audit_event **out, size_t *n,
                              avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_audit_event *arr = NULL;
    size_t len = 0, cap = 0, max = clamp_limit(limit);
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(
        s, tenant != NULL ? ST_AUDIT_LIST_TENANT : ST_AUDIT_SCAN, &st, e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    if (tenant != NULL) {
        bind_text(&rc, st, 1, tenant);
        bind_int(&rc, st, 2, after);
        bind_int(&rc, st, 3, (int64_t)max);
    } else {
        bind_int(&rc, st, 1, after);
        bind_int(&rc, st, 2, (int64_t)max);
    }
    if (rc != SQLITE_OK)
        result = sq_error(s, rc, NULL, "listing audit events", e);
    else
        result = read_events(s, st, &arr, &len, &cap, max, e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        avrr_free(arr);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err sq_audit_anchor(avrr_store *base, int64_t *seq,
                                uint8_t hash[32], avrr_error *e)
{
    return read_anchor(sq(base), seq, hash, e);
}

static avrr_err sq_audit_purge(avrr_store *base, int64_t before_ts_ms,
                               int64_t *n_removed, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int64_t last = 0;
    uint8_t hash[32];
    int rc = SQLITE_OK;
    write_scope w;
    avrr_err result;

    if (n_removed != NULL)
        *n_removed = 0;
    result = scope_begin(s, &w, e);
    if (result != AVRR_OK)
        return result;
    result = stmt_get(s, ST_AUDIT_PURGE_LAST, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, before_ts_ms);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        goto out; /* nothing old enough */
    if (rc != SQLITE_ROW) {
        result = sq_error(s, rc, NULL, "purging the audit log", e);
        goto out;
    }
    last = sqlite3_column_int64(st, 0);
    result = col_blob(s, st, 1, hash, sizeof hash, "audit hash", e);
    stmt_done(st);
    st = NULL;
    if (result == AVRR_OK)
        result = stmt_get(s, ST_AUDIT_PURGE, &st, e);
    if (result != AVRR_OK)
        goto out;
    rc = SQLITE_OK;
    bind_int(&rc, st, 1, last);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "purging the audit log", e);
        goto out;
    }
    result = step_done(s, st, NULL, "purging the audit log", e);
    if (result == AVRR_OK && n_removed != NULL)
        *n_removed = sqlite3_changes(s->db);
    stmt_done(st);
    st = NULL;
    if (result == AVRR_OK)
        result = write_anchor(s, last, hash, e);
out:
    stmt_done(st);
    result = scope_end(s, &w, result, e);
    if (result != AVRR_OK && n_removed != NULL)
        *n_removed = 0;
    return result;
}

static avrr_err sq_audit_checkpoint_insert(avrr_store *base,
                                           const avrr_audit_checkpoint *c,
                                           avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_CHECKPOINT_INSERT, &st, e);

    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, c->seq);
    bind_blob(&rc, st, 2, c->hash, sizeof c->hash);
    bind_int(&rc, st, 3, c->ts_ms);
    bind_blob(&rc, st, 4, c->public_key, sizeof c->public_key);
    bind_blob(&rc, st, 5, c->signature, sizeof c->signature);
    if (rc != SQLITE_OK)
        result = sq_error(s, rc, NULL, "audit checkpoint", e);
    else
        result = step_done(s, st, "seq", "audit checkpoint", e);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_audit_checkpoint_list(avrr_store *base,
                                         avrr_audit_checkpoint **out,
                                         size_t *n, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_audit_checkpoint *arr = NULL;
    size_t len = 0, cap = 0;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_CHECKPOINT_LIST, &st, e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_audit_checkpoint *p = grow(arr, &cap, len + 1, sizeof *p);
        avrr_audit_checkpoint *c;
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        c = &arr[len++];
        c->seq = sqlite3_column_int64(st, 0);
        c->ts_ms = sqlite3_column_int64(st, 2);
        result = col_blob(s, st, 1, c->hash, sizeof c->hash,
                          "checkpoint hash", e);
        if (result == AVRR_OK)
            result = col_blob(s, st, 3, c->public_key, sizeof c->public_key,
                              "checkpoint public key", e);
        if (result == AVRR_OK)
            result = col_blob(s, st, 4, c->signature, sizeof c->signature,
                              "checkpoint signature", e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "listing audit checkpoints", e);
out:
    stmt_done(st);
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
static avrr_err identity_person(sq_store *s, int64_t id, const char *tenant,
                                int64_t *person_id, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_IDENTITY_PERSON, &st, e);

    *person_id = 0;
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id);
    bind_text(&rc, st, 2, tenant != NULL ? tenant : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *person_id = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no identity %lld",
                                (long long)id);
    else
        result = sq_error(s, rc, NULL, "reading the identity", e);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_identity_rectify(avrr_store *base, const char *tenant,
                                    const avrr_identity *id,
                                    const char *old_json, int64_t key_id,
                                    avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *sex = avrr_sex_name((int)id->sex);
    int64_t person_id = 0;
    char birth[11], ctx[24];
    int rc = SQLITE_OK;
    write_scope w;
    avrr_err result;

    if (sex == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "sex", "unknown sex");
    if (old_json == NULL)
        return avrr_error_set(e, AVRR_EINVALID, "old_json",
                              "a rectification keeps the previous version");
    avrr_date_format(&id->birth_date, birth);
    result = scope_begin(s, &w, e);
    if (result != AVRR_OK)
        return result;
    result = identity_person(s, id->id, tenant, &person_id, e);
    /* id->person_id, when given, must name the same person. */
    if (result == AVRR_OK && id->person_id > 0 && id->person_id != person_id)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no identity %lld",
                                (long long)id->id);
    if (result == AVRR_OK)
        result = stmt_get(s, ST_HISTORY_INSERT, &st, e);
    if (result != AVRR_OK)
        goto out;
    ctx_id(ctx, person_id);
    bind_int(&rc, st, 1, id->id);
    bind_int(&rc, st, 2, person_id);
    bind_int(&rc, st, 3, now_seconds());
    bind_ref(&rc, st, 4, key_id);
    bind_secret(s, &rc, st, 5, "identity_history.old_json", ctx, old_json);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "identity history", e);
        goto out;
    }
    result = step_done(s, st, NULL, "identity history", e);
    stmt_done(st);
    st = NULL;
    if (result == AVRR_OK)
        result = stmt_get(s, ST_IDENTITY_UPDATE, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id->id);
    bind_identity_secrets(s, &rc, st, 2, ctx, id, birth);
    bind_text(&rc, st, 5, sex);
    bind_int(&rc, st, 7, id->birth_date.precision);
    bind_int(&rc, st, 8, id->birth_date.placeholder ? 1 : 0);
    bind_text(&rc, st, 9, id->nationality);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "identity", e);
        goto out;
    }
    result = step_done(s, st, NULL, "identity", e);
    stmt_done(st);
    st = NULL;
    if (result == AVRR_OK)
        result = stmt_get(s, ST_DOCUMENTS_DELETE, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id->id);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "documents", e);
        goto out;
    }
    result = step_done(s, st, NULL, "documents", e);
    stmt_done(st);
    st = NULL;
    if (result == AVRR_OK)
        result = insert_documents(s, id, e);
out:
    stmt_done(st);
    return scope_end(s, &w, result, e);
}

static avrr_err sq_identity_history(avrr_store *base, const char *tenant,
                                    int64_t person_id,
                                    avrr_identity_change **out, size_t *n,
                                    avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_identity_change *arr = NULL;
    size_t len = 0, cap = 0;
    char ctx[24];
    bool owned = false;
    int rc = SQLITE_OK;
    avrr_err result;

    *out = NULL;
    *n = 0;
    result = owned_by(s, ST_PERSON_OWNED, person_id, tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no person %lld",
                                (long long)person_id);
    if (result == AVRR_OK)
        result = stmt_get(s, ST_HISTORY_OF, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, person_id);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "reading identity history", e);
        goto out;
    }
    ctx_id(ctx, person_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_identity_change *p = grow(arr, &cap, len + 1, sizeof *p);
        avrr_identity_change *c;
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        c = &arr[len++];
        c->identity_id = sqlite3_column_int64(st, 0);
        c->changed_at = sqlite3_column_int64(st, 1);
        c->key_id = sqlite3_column_int64(st, 2);
        result = col_secret(s, st, 3, "identity_history.old_json", ctx,
                            &c->old_json, e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "reading identity history", e);
out:
    stmt_done(st);
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

/* Runs a statement whose ?1 is a person id (deletes of erasure). */
static avrr_err run_for_person(sq_store *s, enum stmt_id id,
                               int64_t person_id, const char *what,
                               avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, id, &st, e);

    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, person_id);
    if (id == ST_PERSON_ERASE)
        bind_int(&rc, st, 2, now_seconds());
    if (rc != SQLITE_OK)
        result = sq_error(s, rc, NULL, what, e);
    else
        result = step_done(s, st, NULL, what, e);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_person_erase(avrr_store *base, const char *tenant,
                                int64_t person_id, avrr_error *e)
{
    sq_store *s = sq(base);
    bool owned = false;
    write_scope w;
    avrr_err result = scope_begin(s, &w, e);

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

static avrr_err sq_person_set_restricted(avrr_store *base, const char *tenant,
                                         int64_t person_id, bool restricted,
                                         avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_PERSON_RESTRICT, &st, e);

    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, person_id);
    bind_text(&rc, st, 2, tenant != NULL ? tenant : "");
    bind_int(&rc, st, 3, restricted ? 1 : 0);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "person", e);
        goto out;
    }
    result = step_done(s, st, NULL, "person", e);
    if (result == AVRR_OK && sqlite3_changes(s->db) == 0)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no person %lld",
                                (long long)person_id);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_persons_due(avrr_store *base, const char *tenant,
                               const char *closed_before, int64_t **ids,
                               size_t *n, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int64_t *arr = NULL;
    size_t len = 0, cap = 0;
    avrr_date cutoff;
    char text[11];
    int rc = SQLITE_OK;
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
    result = stmt_get(s, ST_PERSONS_DUE, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, tenant != NULL ? tenant : "");
    bind_text(&rc, st, 2, text);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "finding persons due for erasure", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t *p = grow(arr, &cap, len + 1, sizeof *p);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        arr[len++] = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "finding persons due for erasure", e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        avrr_free(arr);
        return result;
    }
    *ids = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err sq_checks_forget(avrr_store *base, int64_t before,
                                 int64_t *n_cleared, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_CHECKS_FORGET, &st, e);

    if (n_cleared != NULL)
        *n_cleared = 0;
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, before);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "clearing check requests", e);
        goto out;
    }
    result = step_done(s, st, NULL, "clearing check requests", e);
    if (result == AVRR_OK && n_cleared != NULL)
        *n_cleared = sqlite3_changes(s->db);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_compact(avrr_store *base, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc;
    avrr_err result;

    /* Our own open transaction would hold the snapshot the checkpoint must
     * get past. */
    if (!sqlite3_get_autocommit(s->db))
        return avrr_error_set(e, AVRR_ECONFLICT, NULL,
                              "compact cannot run inside a transaction");
    result = stmt_get(s, ST_WAL_CHECKPOINT, &st, e);
    if (result != AVRR_OK)
        goto out;
    /* One attempt (the busy timeout applies): busy, WAL frames, frames
     * checkpointed. busy = 1 means another connection's reader or writer
     * kept it from completing; the caller may try again later. */
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        result = sq_error(s, rc, NULL, "checkpointing the WAL", e);
        goto out;
    }
    if (sqlite3_column_int(st, 0) != 0)
        result = avrr_error_set(e, AVRR_EDB, "database",
                                "checkpoint incomplete: another connection "
                                "is reading %s",
                                s->path);
out:
    stmt_done(st);
    return result;
}

/* ---- identity scan and counts ------------------------------------------------------- */

typedef struct scan_item {
    avrr_identity id;
    char tenant[17];
} scan_item;

static avrr_err sq_identity_scan(avrr_store *base, int64_t after_id,
                                 avrr_identity_cb cb, void *arg,
                                 avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    scan_item *batch = avrr_calloc(SCAN_BATCH, sizeof *batch);
    size_t len = 0;
    avrr_err result = AVRR_OK;

    if (batch == NULL)
        return avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
    for (;;) {
        int rc = SQLITE_OK;

        result = stmt_get(s, ST_IDENTITY_SCAN, &st, e);
        if (result != AVRR_OK)
            goto out;
        bind_int(&rc, st, 1, after_id);
        bind_int(&rc, st, 2, SCAN_BATCH);
        if (rc != SQLITE_OK) {
            result = sq_error(s, rc, NULL, "scanning identities", e);
            goto out;
        }
        while (len < SCAN_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            scan_item *it = &batch[len++];
            result = read_identity(s, st, &it->id, e);
            if (result == AVRR_OK)
                result = col_fixed(s, st, 15, it->tenant, sizeof it->tenant,
                                   "tenant", e);
            if (result != AVRR_OK)
                goto out;
        }
        if (len < SCAN_BATCH && rc != SQLITE_DONE) {
            result = sq_error(s, rc, NULL, "scanning identities", e);
            goto out;
        }
        stmt_done(st);
        st = NULL;
        if (len == 0)
            break;
        for (size_t i = 0; i < len; i++) {
            result = load_documents(s, &batch[i].id, e);
            if (result != AVRR_OK)
                goto out;
        }
        for (size_t i = 0; i < len; i++) {
            int stop = cb(arg, batch[i].tenant, &batch[i].id);
            if (stop != 0) {
                result = (avrr_err)stop;
                goto out;
            }
        }
        after_id = batch[len - 1].id.id;
        for (size_t i = 0; i < len; i++)
            avrr_identity_clear(&batch[i].id);
        if (len < SCAN_BATCH)
            break;
        len = 0;
    }
    len = 0;
out:
    stmt_done(st);
    for (size_t i = 0; i < len; i++)
        avrr_identity_clear(&batch[i].id);
    avrr_free(batch);
    return result;
}

static avrr_err sq_count(avrr_store *base, const char *table, int64_t *out,
                         avrr_error *e)
{
    *out = 0;
    for (size_t i = 0; table != NULL &&
                       i < sizeof count_tables / sizeof count_tables[0];
         i++) {
        if (strcmp(table, count_tables[i].table) == 0)
            return query_int(sq(base), count_tables[i].stmt, out,
                             "counting rows", e);
    }
    return avrr_error_set(e, AVRR_EINVALID, "table", "cannot count table %s",
                          table != NULL ? table : "(null)");
}

/* ---- statistics ---------------------------------------------------------- */

static avrr_err sq_stats_scan(avrr_store *base, const char *tenant,
                              int (*cb)(void *arg, const avrr_stats_row *r),
                              void *arg, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_STATS_SCAN, &st, e);
    if (result != AVRR_OK)
        return result;
    bind_code(&rc, st, 1, tenant);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "reading statistics", e);
        goto out;
    }
    while (result == AVRR_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_stats_row r;
        int rt = 0, cs = 0;
        memset(&r, 0, sizeof r);
        r.kind = r.funding = r.assistance_status = -1;
        result = col_fixed(s, st, 0, r.tenant, sizeof r.tenant, "tenant", e);
        r.person_id = sqlite3_column_int64(st, 1);
        r.case_id = sqlite3_column_int64(st, 2);
        if (result == AVRR_OK)
            result = col_fixed(s, st, 3, r.destination, sizeof r.destination,
                               "destination", e);
        if (result == AVRR_OK)
            result = col_enum(s, st, 4, avrr_return_type_parse, &rt,
                              "return type", e);
        if (result == AVRR_OK)
            result = col_enum(s, st, 5, avrr_case_status_parse, &cs,
                              "case status", e);
        if (result == AVRR_OK)
            result = col_date(s, st, 6, &r.opened_on, "opened_on", e);
        if (result == AVRR_OK && sqlite3_column_type(st, 7) != SQLITE_NULL) {
            result = col_enum(s, st, 7, avrr_assistance_kind_parse, &r.kind,
                              "assistance kind", e);
            r.amount_cents = sqlite3_column_int64(st, 8);
            r.cash = sqlite3_column_int(st, 9) != 0;
            if (result == AVRR_OK)
                result = col_enum(s, st, 10, avrr_funding_parse, &r.funding,
                                  "funding", e);
            if (result == AVRR_OK)
                result = col_date(s, st, 11, &r.granted_on, "granted_on", e);
            if (result == AVRR_OK)
                result = col_enum(s, st, 12, avrr_assistance_status_parse,
                                  &r.assistance_status, "assistance status", e);
        }
        r.return_type = (avrr_return_type)rt;
        r.status = (avrr_case_status)cs;
        if (result == AVRR_OK && cb(arg, &r) != 0)
            break;
    }
    if (result == AVRR_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "reading statistics", e);
out:
    stmt_done(st);
    return result;
}

static avrr_err sq_link_stats(avrr_store *base, const char *tenant,
                              int64_t counts[AVRR_LINK__COUNT],
                              int64_t *red_persons, int64_t *red_amount_cents,
                              avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    memset(counts, 0, sizeof(int64_t) * AVRR_LINK__COUNT);
    *red_persons = *red_amount_cents = 0;
    avrr_err result = stmt_get(s, ST_LINK_STATS, &st, e);
    if (result != AVRR_OK)
        return result;
    bind_code(&rc, st, 1, tenant);
    while (rc == SQLITE_OK && result == AVRR_OK &&
           (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int status = 0;
        result = col_enum(s, st, 0, avrr_link_status_parse, &status,
                          "link status", e);
        if (result == AVRR_OK)
            counts[status] = sqlite3_column_int64(st, 1);
        rc = SQLITE_OK;
    }
    if (result == AVRR_OK && rc != SQLITE_OK && rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "counting links", e);
    stmt_done(st);
    st = NULL;
    rc = SQLITE_OK;
    if (result == AVRR_OK)
        result = stmt_get(s, ST_RED_STATS, &st, e);
    if (result == AVRR_OK) {
        bind_code(&rc, st, 1, tenant);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            *red_persons = sqlite3_column_int64(st, 0);
            *red_amount_cents = sqlite3_column_int64(st, 1);
        } else {
            result = sq_error(s, rc, NULL, "counting red links", e);
        }
    }
    stmt_done(st);
    return result;
}

static avrr_err sq_person_flags(avrr_store *base, int64_t person_id,
                                bool *restricted, bool *erased, bool *red_link,
                                avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    *restricted = *erased = *red_link = false;
    avrr_err result = stmt_get(s, ST_PERSON_FLAGS, &st, e);
    if (result != AVRR_OK)
        return result;
    bind_int(&rc, st, 1, person_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *restricted = sqlite3_column_int(st, 0) != 0;
        *red_link = sqlite3_column_int(st, 1) != 0;
        *erased = sqlite3_column_int(st, 2) != 0;
    } else if (rc == SQLITE_DONE) {
        result = avrr_error_set(e, AVRR_ENOTFOUND, NULL, "no person %lld",
                                (long long)person_id);
    } else {
        result = sq_error(s, rc, NULL, "reading a person", e);
    }
    stmt_done(st);
    return result;
}

/* ---- backup --------------------------------------------------------------- */

/* Pages copied per step: small enough that a writer waits at most a few
 * milliseconds between steps, large enough that a big registry is copied
 * in a few thousand steps. */
#define BACKUP_PAGES_PER_STEP 1024

static avrr_err sq_backup(avrr_store *base, const char *path, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3 *dest = NULL;
    avrr_err result = AVRR_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return avrr_error_set(e, errno == EEXIST ? AVRR_EEXISTS : AVRR_EIO, "out",
                              "cannot create %s: %s", path, strerror(errno));
    close(fd);
    int rc = sqlite3_open_v2(path, &dest, SQLITE_OPEN_READWRITE, NULL);
    sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(dest, "main", s->db, "main") : NULL;
    if (!b) {
        result = avrr_error_set(e, AVRR_EIO, "out", "cannot start the backup to %s: %s", path,
                                dest ? sqlite3_errmsg(dest) : sqlite3_errstr(rc));
        goto out;
    }
    do {
        rc = sqlite3_backup_step(b, BACKUP_PAGES_PER_STEP);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(10);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        result = avrr_error_set(e, AVRR_EIO, "out", "backup to %s failed: %s", path,
                                sqlite3_errstr(rc));
out:
    if (dest)
        sqlite3_close(dest);
    if (result != AVRR_OK)
        unlink(path);
    return result;
}

/* ---- rekey ------------------------------------------------------------------ */

/* The personal columns of one table as rekey walks them: `select` returns
 * id, the sealing context (an integer id, or text when text_context), then
 * the columns; `update` takes the id as ?1 and the columns from ?2. */
typedef struct rekey_table {
    enum stmt_id select, update;
    bool text_context;
    int n;
    const char *columns[8];
} rekey_table;

static const rekey_table rekey_tables[] = {
    {ST_REKEY_IDENTITIES, ST_REKEY_IDENTITIES_SET, false, 8,
     {"identities.given_names", "identities.surname", "identities.full_name",
      "identities.birth_date", "identities.birth_place", "identities.address",
      "identities.national_ref", "identities.eurodac_ref"}},
    {ST_REKEY_DOCUMENTS, ST_REKEY_DOCUMENTS_SET, false, 1,
     {"documents.number"}},
    {ST_REKEY_HISTORY, ST_REKEY_HISTORY_SET, false, 1,
     {"identity_history.old_json"}},
    {ST_REKEY_CHECKS, ST_REKEY_CHECKS_SET, true, 1, {"checks.request_json"}},
    {ST_REKEY_COUNSELLING, ST_REKEY_COUNSELLING_SET, false, 1,
     {"counselling.outcome"}},
    {ST_REKEY_PLANS, ST_REKEY_PLANS_SET, false, 1, {"plans.components"}},
    {ST_REKEY_FOLLOW_UPS, ST_REKEY_FOLLOW_UPS_SET, false, 1,
     {"follow_ups.note"}},
    {ST_REKEY_REFERRALS, ST_REKEY_REFERRALS_SET, false, 1,
     {"referrals.reason"}},
};

typedef struct rekey_row {
    int64_t id;
    char ctx[24];
    char *values[8]; /* plaintext, zeroed when freed */
} rekey_row;

static void rekey_rows_clear(rekey_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < 8; j++)
            secret_free(rows[i].values[j]);
        memset(&rows[i], 0, sizeof rows[i]);
    }
}

/* Reads up to REKEY_BATCH rows of t with id > after, opened under s->key
 * (or as plaintext). */
static avrr_err rekey_read(sq_store *s, const rekey_table *t, int64_t after,
                           rekey_row *rows, size_t *n, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, t->select, &st, e);

    *n = 0;
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, after);
    bind_int(&rc, st, 2, REKEY_BATCH);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "reading values to re-encrypt", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rekey_row *r = &rows[(*n)++];
        r->id = sqlite3_column_int64(st, 0);
        if (t->text_context)
            result = col_fixed(s, st, 1, r->ctx, sizeof r->ctx, "tenant", e);
        else
            ctx_id(r->ctx, sqlite3_column_int64(st, 1));
        for (int j = 0; result == AVRR_OK && j < t->n; j++)
            result = col_secret(s, st, 2 + j, t->columns[j], r->ctx,
                                &r->values[j], e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "reading values to re-encrypt", e);
out:
    stmt_done(st);
    return result;
}

/* Writes the rows back sealed under key; counts the values in *n_values. */
static avrr_err rekey_write(sq_store *s, const rekey_table *t,
                            const avrr_data_key *key, const rekey_row *rows,
                            size_t n, int64_t *n_values, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    avrr_err result = stmt_get(s, t->update, &st, e);

    for (size_t i = 0; result == AVRR_OK && i < n; i++) {
        int rc = SQLITE_OK;
        bind_int(&rc, st, 1, rows[i].id);
        for (int j = 0; j < t->n; j++) {
            bind_sealed(key, &rc, st, 2 + j, t->columns[j], rows[i].ctx,
                        rows[i].values[j]);
            *n_values += rows[i].values[j] != NULL;
        }
        if (rc != SQLITE_OK)
            result = sq_error(s, rc, NULL, "re-encrypting", e);
        else
            result = step_done(s, st, NULL, "re-encrypting", e);
        stmt_done(st);
    }
    return result;
}

static avrr_err sq_rekey(avrr_store *base, const char *new_key_path,
                         int64_t *n_values, avrr_error *e)
{
    sq_store *s = sq(base);
    avrr_data_key *key = NULL;
    rekey_row *rows = NULL;
    int64_t sealed = 0;
    size_t n = 0;
    avrr_err result;

    if (n_values != NULL)
        *n_values = 0;
    if (!sqlite3_get_autocommit(s->db))
        return avrr_error_set(e, AVRR_ECONFLICT, NULL,
                              "rekey cannot run inside a transaction");
    result = avrr_data_key_load(new_key_path, &key, e);
    if (result != AVRR_OK)
        return result;
    if (s->key != NULL &&
        sodium_memcmp(avrr_data_key_id(s->key), avrr_data_key_id(key),
                      AVRR_DATA_KEY_ID_BYTES) == 0) {
        result = avrr_error_set(e, AVRR_EINVALID, "new_data_key",
                                "%s is the data key in use: make a new one",
                                new_key_path);
        goto out;
    }
    rows = avrr_calloc(REKEY_BATCH, sizeof *rows);
    if (rows == NULL) {
        result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
        goto out;
    }
    result = run(s, ST_BEGIN, "starting the rekey", e);
    if (result != AVRR_OK)
        goto out;
    for (size_t t = 0; result == AVRR_OK &&
                       t < sizeof rekey_tables / sizeof rekey_tables[0];
         t++) {
        int64_t after = 0;
        do {
            result = rekey_read(s, &rekey_tables[t], after, rows, &n, e);
            if (result == AVRR_OK && n > 0) {
                result = rekey_write(s, &rekey_tables[t], key, rows, n,
                                     &sealed, e);
                after = rows[n - 1].id;
            }
            rekey_rows_clear(rows, REKEY_BATCH);
        } while (result == AVRR_OK && n == REKEY_BATCH);
    }
    if (result == AVRR_OK)
        result = meta_write_key(s, key, e);
    if (result == AVRR_OK)
        result = run(s, ST_COMMIT, "committing the rekey", e);
    if (result != AVRR_OK) {
        if (!sqlite3_get_autocommit(s->db))
            (void)run(s, ST_ROLLBACK, "rolling back", NULL);
        goto out;
    }
    /* Committed: from here on the registry opens only with the new key. */
    avrr_data_key_free(s->key);
    s->key = key;
    key = NULL;
    if (n_values != NULL)
        *n_values = sealed;
    /* The old values may live on in the WAL and in freed or moved parts of
     * pages: rewrite the file, then empty the WAL. */
    result = run(s, ST_VACUUM, "rewriting the registry after the rekey", e);
    if (result == AVRR_OK)
        result = sq_compact(base, e);
    if (result != AVRR_OK && e != NULL) {
        avrr_error why = *e;
        avrr_error_set(e, result, NULL,
                       "%s is re-encrypted under the new key, but the old "
                       "values are not yet wiped from its files (%s): stop "
                       "other users of the registry and run `avrr rekey` "
                       "again, from the new key to another",
                       s->path, why.message);
    }
out:
    avrr_free(rows);
    avrr_data_key_free(key);
    return result;
}

/* ---- the return process (schema version 4) -------------------------------- */

/* Reads one row of a return-process list into item (zeroed). */
typedef avrr_err (*sq_row_fn)(sq_store *s, sqlite3_stmt *st, void *item,
                              avrr_error *e);

/* The rows of statement `id` (bound ?1 case_id, ?2 tenant) for a case of
 * `tenant`: ENOTFOUND when the case is not the tenant's, so that a list
 * never tells whether another tenant's case exists. */
static avrr_err case_rows(sq_store *s, enum stmt_id id, const char *tenant,
                          int64_t case_id, size_t size, sq_row_fn read,
                          void (*free_arr)(void *arr, size_t n), void **out,
                          size_t *n, const char *what, avrr_error *e)
{
    sqlite3_stmt *st = NULL;
    char *arr = NULL;
    size_t len = 0, cap = 0;
    bool owned = false;
    int rc = SQLITE_OK;
    avrr_err result;

    *out = NULL;
    *n = 0;
    result = owned_by(s, ST_CASE_OWNED, case_id, tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "case_id", "no case %lld",
                                (long long)case_id);
    if (result == AVRR_OK)
        result = stmt_get(s, id, &st, e);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, case_id);
    bind_text(&rc, st, 2, tenant != NULL ? tenant : "");
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, what, e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char *p = grow(arr, &cap, len + 1, size);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        result = read(s, st, arr + size * len++, e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, what, e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        free_arr(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

/* Runs a bound INSERT into a table of the return process after checking
 * that the case is `tenant`'s; writes back the new id. */
static avrr_err case_row_insert(sq_store *s, sqlite3_stmt *st, int rc,
                                int64_t case_id, const char *tenant,
                                int64_t *id_out, const char *what,
                                avrr_error *e)
{
    bool owned = false;
    write_scope w;
    avrr_err result;

    *id_out = 0;
    if (rc != SQLITE_OK)
        return sq_error(s, rc, NULL, what, e);
    result = scope_begin(s, &w, e);
    if (result != AVRR_OK)
        return result;
    result = owned_by(s, ST_CASE_OWNED, case_id, tenant, &owned, e);
    if (result == AVRR_OK && !owned)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "case_id", "no case %lld",
                                (long long)case_id);
    if (result == AVRR_OK)
        result = step_done(s, st, NULL, what, e);
    if (result == AVRR_OK)
        *id_out = sqlite3_last_insert_rowid(s->db);
    return scope_end(s, &w, result, e);
}

static avrr_err sq_counselling_insert(avrr_store *base, avrr_counselling *c,
                                      avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    char held[11], ctx[24];
    int64_t now = now_seconds();
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_COUNSEL_INSERT, &st, e);

    if (result != AVRR_OK)
        return result;
    avrr_date_format(&c->held_on, held);
    bind_text(&rc, st, 1, c->tenant);
    bind_int(&rc, st, 2, c->case_id);
    bind_text(&rc, st, 3, c->recorded_by);
    bind_text(&rc, st, 4, held);
    bind_text(&rc, st, 5, c->counsellor);
    /* Free text about the returnee (health, family): sealed like the
     * identities, bound to its case. */
    bind_secret(s, &rc, st, 6, "counselling.outcome", ctx_id(ctx, c->case_id),
                c->outcome);
    bind_int(&rc, st, 7, now);
    result = case_row_insert(s, st, rc, c->case_id, c->tenant, &c->id,
                             "counselling", e);
    stmt_done(st);
    c->created_at = result == AVRR_OK ? now : 0;
    return result;
}

static avrr_err read_counselling(sq_store *s, sqlite3_stmt *st, void *item,
                                 avrr_error *e)
{
    avrr_counselling *c = item;
    char ctx[24];
    avrr_err result;

    c->id = sqlite3_column_int64(st, 0);
    c->case_id = sqlite3_column_int64(st, 1);
    c->created_at = sqlite3_column_int64(st, 7);
    result = col_fixed(s, st, 2, c->tenant, sizeof c->tenant, "tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 3, c->recorded_by, sizeof c->recorded_by,
                           "tenant", e);
    if (result == AVRR_OK)
        result = col_date(s, st, 4, &c->held_on, "counselling date", e);
    if (result == AVRR_OK)
        result = col_str(st, 5, &c->counsellor, e);
    if (result == AVRR_OK)
        result = col_secret(s, st, 6, "counselling.outcome",
                            ctx_id(ctx, c->case_id), &c->outcome, e);
    return result;
}

static void free_counselling(void *arr, size_t n)
{
    avrr_store_free_counselling(arr, n);
}

static avrr_err sq_counselling_list(avrr_store *base, const char *tenant,
                                    int64_t case_id, avrr_counselling **out,
                                    size_t *n, avrr_error *e)
{
    return case_rows(sq(base), ST_COUNSEL_LIST, tenant, case_id, sizeof **out,
                     read_counselling, free_counselling, (void **)out, n,
                     "listing counselling", e);
}

static avrr_err sq_referral_insert(avrr_store *base, avrr_referral *r,
                                   avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int64_t now = now_seconds();
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_REFERRAL_INSERT, &st, e);

    if (result != AVRR_OK)
        return result;
    bind_text(&rc, st, 1, r->tenant);
    bind_int(&rc, st, 2, r->case_id);
    bind_text(&rc, st, 3, r->partner);
    bind_int(&rc, st, 4, now);
    /* An unknown partner fails the foreign key: ENOTFOUND. */
    result = case_row_insert(s, st, rc, r->case_id, r->tenant, &r->id,
                             "referral", e);
    stmt_done(st);
    if (result == AVRR_ENOTFOUND && r->id == 0 && e != NULL &&
        strcmp(e->field, "case_id") != 0)
        avrr_error_set(e, AVRR_ENOTFOUND, "partner", "no tenant %s",
                       r->partner);
    if (result == AVRR_OK) {
        r->created_at = now;
        r->status = AVRR_REFERRAL_PENDING;
    }
    return result;
}

static avrr_err read_referral(sq_store *s, sqlite3_stmt *st, void *item,
                              avrr_error *e)
{
    avrr_referral *r = item;
    char ctx[24];
    int status = 0;
    avrr_err result;

    r->id = sqlite3_column_int64(st, 0);
    r->case_id = sqlite3_column_int64(st, 1);
    r->decided_key_id = sqlite3_column_int64(st, 6);
    r->decided_at = sqlite3_column_int64(st, 7);
    r->created_at = sqlite3_column_int64(st, 8);
    result = col_fixed(s, st, 2, r->tenant, sizeof r->tenant, "tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 3, r->partner, sizeof r->partner,
                           "partner", e);
    if (result == AVRR_OK)
        result = col_enum(s, st, 4, avrr_referral_status_parse, &status,
                          "referral status", e);
    if (result == AVRR_OK)
        result = col_secret(s, st, 5, "referrals.reason",
                            ctx_id(ctx, r->case_id), &r->reason, e);
    r->status = (avrr_referral_status)status;
    return result;
}

static avrr_err sq_referral_get(avrr_store *base, const char *tenant,
                                int64_t id, avrr_referral *out, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_REFERRAL_GET, &st, e);

    memset(out, 0, sizeof *out);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, id);
    bind_text(&rc, st, 2, tenant != NULL ? tenant : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = read_referral(s, st, out, e);
    else if (rc == SQLITE_DONE)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id", "no referral %lld",
                                (long long)id);
    else
        result = sq_error(s, rc, NULL, "reading the referral", e);
out:
    stmt_done(st);
    if (result != AVRR_OK)
        avrr_referral_clear(out);
    return result;
}

static avrr_err sq_referral_list(avrr_store *base, const char *tenant,
                                 int status, int64_t after, size_t limit,
                                 avrr_referral **out, size_t *n,
                                 avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    avrr_referral *arr = NULL;
    size_t len = 0, cap = 0;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_REFERRAL_LIST, &st, e);

    *out = NULL;
    *n = 0;
    if (result != AVRR_OK)
        goto out;
    bind_text(&rc, st, 1, tenant != NULL ? tenant : "");
    bind_text(&rc, st, 2, status >= 0 ? avrr_referral_status_name(status)
                                      : NULL);
    bind_int(&rc, st, 3, after);
    bind_int(&rc, st, 4, (int64_t)clamp_limit(limit));
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "listing referrals", e);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_referral *p = grow(arr, &cap, len + 1, sizeof *arr);
        if (p == NULL) {
            result = avrr_error_set(e, AVRR_ENOMEM, NULL, "out of memory");
            goto out;
        }
        arr = p;
        result = read_referral(s, st, &arr[len++], e);
        if (result != AVRR_OK)
            goto out;
    }
    if (rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "listing referrals", e);
out:
    stmt_done(st);
    if (result != AVRR_OK) {
        avrr_store_free_referrals(arr, len);
        return result;
    }
    *out = arr;
    *n = len;
    return AVRR_OK;
}

static avrr_err sq_referral_decide(avrr_store *base, avrr_referral *r,
                                   avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    const char *status = avrr_referral_status_name((int)r->status);
    int64_t now = now_seconds();
    char ctx[24];
    int rc = SQLITE_OK;
    avrr_err result;

    if (status == NULL || r->status == AVRR_REFERRAL_PENDING)
        return avrr_error_set(e, AVRR_EINVALID, "decision",
                              "a decision accepts or declines");
    result = stmt_get(s, ST_REFERRAL_DECIDE, &st, e);
    if (result != AVRR_OK)
        return result;
    bind_int(&rc, st, 1, r->id);
    bind_text(&rc, st, 2, status);
    bind_secret(s, &rc, st, 3, "referrals.reason", ctx_id(ctx, r->case_id),
                r->reason);
    bind_ref(&rc, st, 4, r->decided_key_id);
    bind_int(&rc, st, 5, now);
    bind_text(&rc, st, 6, r->partner);
    if (rc != SQLITE_OK)
        result = sq_error(s, rc, NULL, "referral", e);
    else
        result = step_done(s, st, NULL, "referral", e);
    /* The update names the pending state: a second decision changes
     * nothing and is a conflict, not a silent overwrite. */
    if (result == AVRR_OK && sqlite3_changes(s->db) == 0)
        result = avrr_error_set(e, AVRR_ECONFLICT, "id",
                                "referral %lld is no longer pending",
                                (long long)r->id);
    if (result == AVRR_OK)
        r->decided_at = now;
    stmt_done(st);
    return result;
}

static avrr_err sq_referral_access(avrr_store *base, const char *partner,
                                   int64_t case_id, int64_t person_id,
                                   char owner[static 17], avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, case_id > 0 ? ST_REFERRAL_ACCESS_CASE
                                              : ST_REFERRAL_ACCESS_PERSON,
                               &st, e);

    owner[0] = '\0';
    if (result != AVRR_OK)
        return result;
    bind_int(&rc, st, 1, case_id > 0 ? case_id : person_id);
    bind_text(&rc, st, 2, partner != NULL ? partner : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        result = col_fixed(s, st, 0, owner, 17, "tenant", e);
    else if (rc == SQLITE_DONE)
        result = avrr_error_set(e, AVRR_ENOTFOUND, "id",
                                "no accepted referral");
    else
        result = sq_error(s, rc, NULL, "reading referrals", e);
    stmt_done(st);
    return result;
}

static avrr_err sq_plan_put(avrr_store *base, avrr_plan *p, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int64_t now = now_seconds(), ignored = 0;
    char ctx[24];
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_PLAN_PUT, &st, e);

    if (result != AVRR_OK)
        return result;
    bind_int(&rc, st, 1, p->case_id);
    bind_text(&rc, st, 2, p->tenant);
    bind_text(&rc, st, 3, p->recorded_by);
    bind_secret(s, &rc, st, 4, "plans.components", ctx_id(ctx, p->case_id),
                p->components);
    bind_text(&rc, st, 5, p->amounts_json != NULL ? p->amounts_json : "[]");
    bind_int(&rc, st, 6, now);
    result = case_row_insert(s, st, rc, p->case_id, p->tenant, &ignored,
                             "plan", e);
    stmt_done(st);
    p->updated_at = result == AVRR_OK ? now : 0;
    return result;
}

static avrr_err sq_plan_get(avrr_store *base, const char *tenant,
                            int64_t case_id, avrr_plan *out, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    char ctx[24];
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_PLAN_GET, &st, e);

    memset(out, 0, sizeof *out);
    if (result != AVRR_OK)
        goto out;
    bind_int(&rc, st, 1, case_id);
    bind_text(&rc, st, 2, tenant != NULL ? tenant : "");
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->case_id = sqlite3_column_int64(st, 0);
        out->updated_at = sqlite3_column_int64(st, 5);
        result = col_fixed(s, st, 1, out->tenant, sizeof out->tenant,
                           "tenant", e);
        if (result == AVRR_OK)
            result = col_fixed(s, st, 2, out->recorded_by,
                               sizeof out->recorded_by, "tenant", e);
        if (result == AVRR_OK)
            result = col_secret(s, st, 3, "plans.components",
                                ctx_id(ctx, out->case_id), &out->components,
                                e);
        if (result == AVRR_OK)
            result = col_str(st, 4, &out->amounts_json, e);
    } else if (rc == SQLITE_DONE) {
        result = avrr_error_set(e, AVRR_ENOTFOUND, "case_id",
                                "no plan for case %lld", (long long)case_id);
    } else {
        result = sq_error(s, rc, NULL, "reading the plan", e);
    }
out:
    stmt_done(st);
    if (result != AVRR_OK)
        avrr_plan_clear(out);
    return result;
}

static avrr_err sq_follow_up_insert(avrr_store *base, avrr_follow_up *f,
                                    avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    char visited[11], ctx[24];
    int64_t now = now_seconds();
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_FOLLOW_UP_INSERT, &st, e);

    if (result != AVRR_OK)
        return result;
    avrr_date_format(&f->visited_on, visited);
    bind_text(&rc, st, 1, f->tenant);
    bind_int(&rc, st, 2, f->case_id);
    bind_text(&rc, st, 3, f->recorded_by);
    bind_text(&rc, st, 4, visited);
    bind_double(&rc, st, 5, f->economic);
    bind_double(&rc, st, 6, f->social);
    bind_double(&rc, st, 7, f->psychosocial);
    bind_secret(s, &rc, st, 8, "follow_ups.note", ctx_id(ctx, f->case_id),
                f->note);
    bind_int(&rc, st, 9, now);
    result = case_row_insert(s, st, rc, f->case_id, f->tenant, &f->id,
                             "follow-up", e);
    stmt_done(st);
    f->created_at = result == AVRR_OK ? now : 0;
    return result;
}

static avrr_err read_follow_up(sq_store *s, sqlite3_stmt *st, void *item,
                               avrr_error *e)
{
    avrr_follow_up *f = item;
    char ctx[24];
    avrr_err result;

    f->id = sqlite3_column_int64(st, 0);
    f->case_id = sqlite3_column_int64(st, 1);
    f->economic = sqlite3_column_double(st, 5);
    f->social = sqlite3_column_double(st, 6);
    f->psychosocial = sqlite3_column_double(st, 7);
    f->created_at = sqlite3_column_int64(st, 9);
    result = col_fixed(s, st, 2, f->tenant, sizeof f->tenant, "tenant", e);
    if (result == AVRR_OK)
        result = col_fixed(s, st, 3, f->recorded_by, sizeof f->recorded_by,
                           "tenant", e);
    if (result == AVRR_OK)
        result = col_date(s, st, 4, &f->visited_on, "visit date", e);
    if (result == AVRR_OK)
        result = col_secret(s, st, 8, "follow_ups.note",
                            ctx_id(ctx, f->case_id), &f->note, e);
    return result;
}

static void free_follow_ups(void *arr, size_t n)
{
    avrr_store_free_follow_ups(arr, n);
}

static avrr_err sq_follow_up_list(avrr_store *base, const char *tenant,
                                  int64_t case_id, avrr_follow_up **out,
                                  size_t *n, avrr_error *e)
{
    return case_rows(sq(base), ST_FOLLOW_UP_LIST, tenant, case_id,
                     sizeof **out, read_follow_up, free_follow_ups,
                     (void **)out, n, "listing follow-ups", e);
}

/* Follow-ups for statistics: no free text, no names. */
static avrr_err sq_follow_up_scan(avrr_store *base, const char *tenant,
                                  int (*cb)(void *arg, int64_t person_id,
                                            const avrr_follow_up *f),
                                  void *arg, avrr_error *e)
{
    sq_store *s = sq(base);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_OK;
    avrr_err result = stmt_get(s, ST_FOLLOW_UP_SCAN, &st, e);

    if (result != AVRR_OK)
        return result;
    bind_code(&rc, st, 1, tenant);
    if (rc != SQLITE_OK) {
        result = sq_error(s, rc, NULL, "reading follow-ups", e);
        goto out;
    }
    while (result == AVRR_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        avrr_follow_up f;
        memset(&f, 0, sizeof f);
        result = col_fixed(s, st, 0, f.tenant, sizeof f.tenant, "tenant", e);
        f.case_id = sqlite3_column_int64(st, 2);
        f.economic = sqlite3_column_double(st, 4);
        f.social = sqlite3_column_double(st, 5);
        f.psychosocial = sqlite3_column_double(st, 6);
        if (result == AVRR_OK)
            result = col_date(s, st, 3, &f.visited_on, "visit date", e);
        if (result == AVRR_OK && cb(arg, sqlite3_column_int64(st, 1), &f) != 0)
            goto out;
    }
    if (result == AVRR_OK && rc != SQLITE_DONE)
        result = sq_error(s, rc, NULL, "reading follow-ups", e);
out:
    stmt_done(st);
    return result;
}

static const avrr_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .tenant_insert = sq_tenant_insert,
    .tenant_get = sq_tenant_get,
    .tenant_list = sq_tenant_list,
    .key_insert = sq_key_insert,
    .key_find = sq_key_find,
    .key_revoke = sq_key_revoke,
    .key_list = sq_key_list,
    .person_insert = sq_person_insert,
    .person_insert_many = sq_person_insert_many,
    .identity_insert = sq_identity_insert,
    .person_get = sq_person_get,
    .person_list = sq_person_list,
    .case_insert = sq_case_insert,
    .case_get = sq_case_get,
    .case_list = sq_case_list,
    .case_update = sq_case_update,
    .assistance_insert = sq_assistance_insert,
    .assistance_list = sq_assistance_list,
    .identity_scan = sq_identity_scan,
    .tenant_update = sq_tenant_update,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .person_get_any = sq_person_get_any,
    .person_assistance = sq_person_assistance,
    .check_insert = sq_check_insert,
    .check_get = sq_check_get,
    .link_insert = sq_link_insert,
    .link_insert_many = sq_link_insert_many,
    .link_get = sq_link_get,
    .link_list = sq_link_list,
    .links_of_person = sq_links_of_person,
    .link_resolve = sq_link_resolve,
    .disclosure_insert = sq_disclosure_insert,
    .disclosure_get = sq_disclosure_get,
    .disclosure_list = sq_disclosure_list,
    .disclosure_decide = sq_disclosure_decide,
    .audit_append = sq_audit_append,
    .audit_append_many = sq_audit_append_many,
    .audit_scan = sq_audit_scan,
    .audit_list = sq_audit_list,
    .audit_anchor = sq_audit_anchor,
    .audit_purge = sq_audit_purge,
    .audit_checkpoint_insert = sq_audit_checkpoint_insert,
    .audit_checkpoint_list = sq_audit_checkpoint_list,
    .identity_rectify = sq_identity_rectify,
    .identity_history = sq_identity_history,
    .person_erase = sq_person_erase,
    .person_set_restricted = sq_person_set_restricted,
    .persons_due = sq_persons_due,
    .checks_forget = sq_checks_forget,
    .compact = sq_compact,
    .count = sq_count,
    .rekey = sq_rekey,
    .stats_scan = sq_stats_scan,
    .link_stats = sq_link_stats,
    .person_flags = sq_person_flags,
    .backup = sq_backup,
    .counselling_insert = sq_counselling_insert,
    .counselling_list = sq_counselling_list,
    .referral_insert = sq_referral_insert,
    .referral_get = sq_referral_get,
    .referral_list = sq_referral_list,
    .referral_decide = sq_referral_decide,
    .referral_access = sq_referral_access,
    .plan_put = sq_plan_put,
    .plan_get = sq_plan_get,
    .follow_up_insert = sq_follow_up_insert,
    .follow_up_list = sq_follow_up_list,
    .follow_up_scan = sq_follow_up_scan,
};
