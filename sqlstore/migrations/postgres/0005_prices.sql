-- Keep in step with migrations/sqlite/0005_prices.sql, which explains the
-- table.

CREATE TABLE model_prices (
    provider          TEXT        NOT NULL,
    model             TEXT        NOT NULL CHECK (model <> ''),
    source            TEXT        NOT NULL CHECK (source IN ('import:litellm', 'import:openrouter', 'admin')),
    canonical         TEXT        NOT NULL DEFAULT '',
    input_nano        BIGINT      CHECK (input_nano >= 0),
    cached_input_nano BIGINT      CHECK (cached_input_nano >= 0),
    cache_write_nano  BIGINT      CHECK (cache_write_nano >= 0),
    output_nano       BIGINT      CHECK (output_nano >= 0),
    reasoning_nano    BIGINT      CHECK (reasoning_nano >= 0),
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider, model, source)
);
