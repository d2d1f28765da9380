//! Comments, quoting and literals never confuse the lexer; executable comments are code;
//! hints in leading comments.

mod common_route;
use common_route::*;

const CASES: &[(&str, &str)] = &[
    ("/* hint */ SELECT 1", "reader"),
    (
        "/* route=primary */ SELECT * FROM users WHERE id = 1",
        "reader",
    ),
    (
        "SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t WHERE a = 1",
        "reader",
    ),
    (
        "SELECT /*+ BKA(t1) NO_BKA(t2) */ t1.* FROM t1 JOIN t2 ON t1.id = t2.id",
        "reader",
    ),
    (
        "INSERT /*+ SET_VAR(foreign_key_checks=OFF) */ INTO t VALUES (1)",
        "writer",
    ),
    ("/*!40101 SET NAMES utf8 */", "writer:session_state"),
    (
        "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
        "writer:session_state",
    ),
    (
        "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */",
        "writer:session_state",
    ),
    ("/*!40103 SET TIME_ZONE='+00:00' */", "writer:session_state"),
    ("SELECT /*!40001 SQL_NO_CACHE */ * FROM t", "reader"),
    ("SELECT 1 /*!50000 FOR UPDATE */", "writer:locking_read"),
    ("/*M!100100 SELECT 1 FOR UPDATE */", "writer:locking_read"),
    (
        "CREATE TABLE t9 (id INT) /*!50100 PARTITION BY HASH (id) PARTITIONS 4 */",
        "writer",
    ),
    ("-- leading dash comment\nSELECT 1", "reader"),
    ("# leading hash comment\nSELECT 1", "reader"),
    ("SELECT 1 # trailing hash comment", "reader"),
    ("SELECT 1 -- trailing dash comment", "reader"),
    ("SELECT 1 /* inline */ FROM dual", "reader"),
    ("SELECT 1--1", "reader"),
    ("SELECT 1 -- FOR UPDATE\n", "reader"),
    ("SELECT 1 /* FOR UPDATE */", "reader"),
    ("SELECT '/* not a comment */ FOR UPDATE'", "reader"),
    ("SELECT \"LAST_INSERT_ID()\" AS s", "reader"),
    ("SELECT `LAST_INSERT_ID` FROM t", "reader"),
    (
        "SELECT `id`, `from`, `select` FROM `app`.`order` WHERE `key` = 1",
        "reader",
    ),
    (
        "SELECT 'It\\'s', 'a''b', '\\n\\t\\\\', \"double \\\"quoted\\\"\" FROM t",
        "reader",
    ),
    ("SELECT * FROM t WHERE name = \"bob\"", "reader"),
    (
        "SELECT _utf8mb4'abc' COLLATE utf8mb4_bin, _binary'\\x00\\x01', N'text'",
        "reader",
    ),
    (
        "SELECT X'4D7953514C', 0x4D7953514C, b'1010', 0b1010",
        "reader",
    ),
    ("SELECT 'abc' 'def'", "reader"),
    (
        "SELECT 1e3, .5, 1.5e-3, -0.0, 18446744073709551615",
        "reader",
    ),
    (
        "SELECT * FROM t WHERE a = 'x' COLLATE utf8mb4_bin AND b LIKE 'x\\_%' ESCAPE '\\\\'",
        "reader",
    ),
    ("SELECT 'café', '日本語' FROM t WHERE név = 1", "reader"),
    (
        "SELECT doc->'$.name', doc->>'$.age' FROM docs WHERE doc->>'$.type' = 'x'",
        "reader",
    ),
    (
        "SELECT JSON_EXTRACT(doc, '$.a'), JSON_UNQUOTE(JSON_EXTRACT(doc, '$.b')) FROM docs",
        "reader",
    ),
    (
        "SELECT * FROM docs WHERE 3 MEMBER OF (doc->'$.ids')",
        "reader",
    ),
    (
        "SELECT jt.* FROM docs, JSON_TABLE(doc, '$.items[*]' COLUMNS (id INT PATH '$.id')) AS jt",
        "reader",
    ),
    ("SELECT 'unterminated", "writer:parse_failure"),
    ("SELECT 1 /* unterminated", "writer"),
    // hints
    ("/* rwsplit:writer */ SELECT 1", "writer:hint"),
    ("/*rwsplit:writer*/SELECT 1", "writer:hint"),
    ("/* rwsplit:reader */ SELECT 1", "reader:hint"),
    ("/* rwsplit:reader */ SELECT a MOD 3 FROM t", "reader:hint"),
    (
        "/* rwsplit:reader */ INSERT INTO t VALUES (1)",
        "writer:write",
    ),
    (
        "/* rwsplit:reader */ SELECT LAST_INSERT_ID()",
        "writer:side_effect_function",
    ),
    ("/* rwsplit:master */ SELECT 1", "writer:hint"),
    ("SELECT 1 /* rwsplit:writer */", "reader:read"),
    ("/* rwsplit:bogus */ SELECT 1", "reader:read"),
];

#[test]
fn comments_and_literals() {
    check_fresh(CASES);
}

#[test]
fn digests_ignore_literals_and_case() {
    let c = rwsplit::classify::Classifier::default();
    let d = |s: &str| c.classify(s.as_bytes()).digest;
    assert_eq!(
        d("SELECT c FROM t WHERE id = 1"),
        d("select c from t where id = 42")
    );
    assert_eq!(
        d("SELECT * FROM t WHERE id IN (1, 2, 3)"),
        d("SELECT * FROM t WHERE id IN (7)")
    );
    assert_eq!(d("SELECT 'a'"), d("SELECT \"b\""));
    assert_eq!(
        d("SELECT  c\nFROM t /* x */ WHERE id=?"),
        d("SELECT c FROM t WHERE id = 5")
    );
    assert_ne!(
        d("SELECT c FROM t WHERE id = 1"),
        d("SELECT c FROM u WHERE id = 1")
    );
    assert_ne!(d("SELECT a FROM t"), d("SELECT b FROM t"));
    assert_eq!(
        rwsplit::classify::normalize::normalize(
            b"select c from t where id in (1,2,3) and name = 'x'",
            1000
        ),
        "SELECT C FROM T WHERE ID IN (?) AND NAME = ?"
    );
}
