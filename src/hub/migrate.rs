//! Versioned schema: numbered SQL files, each applied once, in one transaction, and
//! recorded in `hub_schema`. A database newer than this traveler is refused, never
//! "downgraded".

use tokio_postgres::Client;

/// (version, name, SQL). Append only: a released file is never edited.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "chains", include_str!("migrations/0001_chains.sql")),
    (
        2,
        "bench_heads",
        include_str!("migrations/0002_bench_heads.sql"),
    ),
    (
        3,
        "hub_chain",
        include_str!("migrations/0003_hub_chain.sql"),
    ),
    (
        4,
        "open_submissions",
        include_str!("migrations/0004_open_submissions.sql"),
    ),
    (
        5,
        "open_submissions_mirrored",
        include_str!("migrations/0005_open_submissions_mirrored.sql"),
    ),
];

/// The schema version this traveler expects.
pub fn current() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "the hub database is at schema {found}, newer than this traveler ({known}); use a newer traveler"
    )]
    Newer { found: i32, known: i32 },
    #[error(
        "the hub database is at schema {found}; run `traveler hub init` to bring it to {known}"
    )]
    Behind { found: i32, known: i32 },
    #[error("migration {version} ({name}) failed: {source}")]
    Failed {
        version: i32,
        name: &'static str,
        source: tokio_postgres::Error,
    },
    #[error("{0:?} is not a plain role name (letters, digits, underscores)")]
    RoleName(String),
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
}

/// Applies every migration the database lacks; returns the versions applied.
pub async fn migrate(client: &mut Client) -> Result<Vec<i32>, MigrateError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS hub_schema (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let tx = client.transaction().await?;
    // Two `init`s at once: the second waits, then finds nothing to do.
    tx.batch_execute("LOCK TABLE hub_schema IN EXCLUSIVE MODE")
        .await?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM hub_schema", &[])
        .await?
        .get(0);
    if found > current() {
        return Err(MigrateError::Newer {
            found,
            known: current(),
        });
    }
    let mut applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.batch_execute(sql)
            .await
            .map_err(|source| MigrateError::Failed {
                version,
                name,
                source,
            })?;
        tx.execute(
            "INSERT INTO hub_schema (version, name) VALUES ($1, $2)",
            &[&version, &name],
        )
        .await?;
        applied.push(version);
    }
    tx.commit().await?;
    Ok(applied)
}

/// The schema version the database is at (0 if never initialised).
pub async fn version(client: &Client) -> Result<i32, tokio_postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('hub_schema') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one("SELECT coalesce(max(version), 0) FROM hub_schema", &[])
        .await?
        .get(0))
}

/// Refuses to serve a database this traveler does not match.
pub async fn require_current(client: &Client) -> Result<(), MigrateError> {
    let found = version(client).await?;
    match found.cmp(&current()) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(MigrateError::Newer {
            found,
            known: current(),
        }),
        std::cmp::Ordering::Less => Err(MigrateError::Behind {
            found,
            known: current(),
        }),
    }
}

/// Grants the role the service logs in as what it needs and nothing more: read
/// everything, append history, keep bench and store rows current. It gets no UPDATE,
/// DELETE or TRUNCATE on history (and the triggers refuse those to everyone anyway).
pub async fn grant_service_role(client: &Client, role: &str) -> Result<(), MigrateError> {
    let plain = !role.is_empty()
        && role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !role.starts_with(|c: char| c.is_ascii_digit());
    if !plain {
        return Err(MigrateError::RoleName(role.to_string()));
    }
    client
        .batch_execute(&format!(
            "GRANT SELECT, INSERT ON hub_records, hub_samples, hub_alarms TO \"{role}\";
             GRANT SELECT, INSERT, UPDATE ON hub_benches, hub_stores TO \"{role}\";
             GRANT SELECT ON hub_schema TO \"{role}\";
             GRANT SELECT, INSERT ON hub_chain TO \"{role}\";
             GRANT SELECT ON hub_open_submissions TO \"{role}\";
             GRANT USAGE ON SEQUENCE hub_alarms_id_seq TO \"{role}\";"
        ))
        .await?;
    Ok(())
}
