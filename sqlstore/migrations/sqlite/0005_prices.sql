-- Model prices that are not built in: imported from a price table
-- (ownkey prices import) or set by the operator. Built-in prices live in
-- the code. Precedence, per (provider, model): admin, then the newest
-- import, then the built-in price (package prices).
--
-- Prices are integer nano-USD per million tokens; NULL is unknown (not
-- priced apart), which is not the same as 0 (free). canonical is '' when
-- the model's canonical id is the default one. Keep in step with
-- migrations/postgres/0005_prices.sql.

CREATE TABLE model_prices (
    provider          TEXT    NOT NULL,
    model             TEXT    NOT NULL CHECK (model <> ''),
    source            TEXT    NOT NULL CHECK (source IN ('import:litellm', 'import:openrouter', 'admin')),
    canonical         TEXT    NOT NULL DEFAULT '',
    input_nano        INTEGER CHECK (input_nano >= 0),
    cached_input_nano INTEGER CHECK (cached_input_nano >= 0),
    cache_write_nano  INTEGER CHECK (cache_write_nano >= 0),
    output_nano       INTEGER CHECK (output_nano >= 0),
    reasoning_nano    INTEGER CHECK (reasoning_nano >= 0),
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (provider, model, source)
) STRICT;
