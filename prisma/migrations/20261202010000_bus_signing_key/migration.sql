-- The key that authenticates live bus messages (ADR 0012). The outbox worker signs each message
-- with HMAC-SHA256 under it and every subscriber verifies: a message that does not verify (forged
-- on the broker, corrupted, or from another deployment) is never delivered as an event. It lives
-- here so that every process that reaches the database shares it with no configuration, and
-- nobody without database access can learn it.
CREATE TABLE "bus_signing_key" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "key" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "bus_signing_key_pkey" PRIMARY KEY ("id"),
    -- One key per deployment: rotation replaces it (UPDATE), it never adds a second row.
    CONSTRAINT "bus_signing_key_one_row" CHECK ("id" = 1),
    CONSTRAINT "bus_signing_key_length" CHECK (octet_length("key") >= 32)
);

-- 32 bytes from two version-4 UUIDs: 244 random bits from the server's strong random source,
-- with no extension needed (gen_random_uuid is built in since PostgreSQL 13).
INSERT INTO "bus_signing_key" ("id", "key")
VALUES (1, decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
