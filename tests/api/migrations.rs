use std::collections::BTreeSet;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

use crate::helpers::{PG_ENV, TestDb};
use breachline::config::{DatabaseSettings, DatabaseUrl};
use breachline::db::{Db, DbConnection};

fn versions(backend: &str) -> BTreeSet<String> {
    std::fs::read_dir(format!(
        "{}/migrations/{backend}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
    .collect()
}

#[test]
fn both_backends_have_the_same_migration_versions() {
    assert_eq!(versions("sqlite"), versions("postgres"));
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn columns(url: &str) -> BTreeSet<(String, String)> {
    let db = Db::connect(&DatabaseSettings {
        url: DatabaseUrl::parse(url).unwrap(),
        pool_size: 1,
    })
    .unwrap();
    db.read_blocking(|conn| {
        let sql = match conn {
            DbConnection::Sqlite(_) => {
                "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name != '__diesel_schema_migrations'"
            }
            DbConnection::Postgres(_) => {
                "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name != '__diesel_schema_migrations'"
            }
        };
        Ok(diesel::sql_query(sql).load::<Column>(conn)?)
    })
    .unwrap()
    .into_iter()
    .map(|c| (c.table_name, c.column_name))
    .collect()
}

/// Needs PostgreSQL: runs in the PostgreSQL pass of CI (and says so otherwise).
#[test]
fn both_backends_yield_the_same_tables_and_columns() {
    if std::env::var(PG_ENV).is_err() {
        eprintln!("skipped: set {PG_ENV} to compare against PostgreSQL");
        return;
    }
    let pg = TestDb::new();
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", sqlite_dir.path().join("parity.db").display());
    let sqlite_columns = columns(&sqlite_url);
    assert!(sqlite_columns.contains(&("incidents".into(), "aware_at".into())));
    assert_eq!(sqlite_columns, columns(&pg.url));
}
