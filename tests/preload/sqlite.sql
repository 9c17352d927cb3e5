-- SPDX-License-Identifier: MIT
-- sqlite.sql - the workload of tests/preload/sqlite3.sh: 200000 generated
-- rows, three indexes, aggregates, joins, window functions, a sort of the
-- whole table, updates and deletes, all through the sqlite3 CLI.  Output is
-- deterministic (every query is ordered or an aggregate).
PRAGMA cache_size = -65536;
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE item(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT,
	price REAL, note TEXT);
CREATE TABLE grp(id INTEGER PRIMARY KEY, label TEXT);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
INSERT INTO item SELECT i, (i * 7919) % 997,
	printf('item-%06d-%s', (i * 104729) % 300007, substr(hex(i * i), 1, 1 + i % 13)),
	((i * 31337) % 100000) / 100.0,
	CASE WHEN i % 10 = 0 THEN replace(printf('%.*c', 100 + i % 900, 'x'), 'x', char(97 + i % 26)) END
FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 996)
INSERT INTO grp SELECT i, 'group ' || i FROM n;
COMMIT;
CREATE INDEX item_grp ON item(grp, price);
CREATE INDEX item_name ON item(name);
CREATE INDEX item_note ON item(length(note)) WHERE note IS NOT NULL;
SELECT count(*), sum(price), min(name), max(name), sum(length(note)) FROM item;
SELECT g.label, count(*), round(avg(i.price), 4), max(i.price)
	FROM item i JOIN grp g ON g.id = i.grp
	GROUP BY i.grp ORDER BY count(*) DESC, i.grp LIMIT 8;
SELECT grp, name, price, rank FROM (
	SELECT grp, name, price,
		rank() OVER (PARTITION BY grp ORDER BY price DESC, id) AS rank
	FROM item) WHERE rank <= 2 AND grp < 4 ORDER BY grp, rank;
SELECT substr(name, 1, 8), count(*) FROM item GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5;
SELECT sum(hashlen) FROM (SELECT length(group_concat(name, ',')) AS hashlen
	FROM item GROUP BY grp % 50);
SELECT count(*), sum(length(name)) FROM (SELECT name FROM item ORDER BY note, name DESC);
SELECT count(DISTINCT substr(name, 6, 3)) FROM item;
UPDATE item SET note = name || coalesce(note, '') WHERE id % 3 = 0;
DELETE FROM item WHERE price < 100;
SELECT count(*), sum(length(note)), total(price) FROM item;
CREATE TABLE copy AS SELECT * FROM item ORDER BY name;
SELECT count(*), min(id), max(id) FROM copy;
DROP TABLE copy;
VACUUM;
PRAGMA integrity_check;
