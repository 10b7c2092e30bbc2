//! Brings a ClickHouse database to the current schema (migrations not yet applied, in order), and ages out
//! old data by dropping whole partitions (every version) and, where the server has it, a table TTL.

use std::collections::BTreeSet;

use crate::client::{ClickHouseError, Client};
use crate::query::string_literal;
use crate::schema::{Layout, ServerVersion, quote};

/// How long each table keeps its rows; `None` keeps them forever.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// `flows` (one row per sample).
    pub raw_days: Option<u32>,
    /// `flows_1m`.
    pub minute_days: Option<u32>,
    /// `flows_5m`.
    pub five_minute_days: Option<u32>,
    /// `flows_1h`.
    pub hour_days: Option<u32>,
}

impl Retention {
    /// The retention of one table (`flows`, `flows_1m`, `flows_5m`, `flows_1h`).
    pub fn days(&self, table: &str) -> Option<u32> {
        match table {
            "flows" => self.raw_days,
            "flows_1m" => self.minute_days,
            "flows_5m" => self.five_minute_days,
            "flows_1h" => self.hour_days,
            _ => None,
        }
    }
}

/// What [`ensure_schema`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaReport {
    /// What `SELECT version()` answered.
    pub server_version: String,
    /// Migrations applied by this call.
    pub applied: Vec<u32>,
    /// The schema version now in place.
    pub version: u32,
}

/// Creates the database and applies the migrations it does not have yet; in a cluster, (re)creates the
/// `Distributed` tables; on servers with TTL, sets the tables' TTL from `retention`.
pub fn ensure_schema(
    client: &Client,
    layout: &Layout,
    retention: &Retention,
) -> Result<SchemaReport, ClickHouseError> {
    let server_version = client.execute("SELECT version()")?.trim().to_string();
    for statement in layout.bootstrap() {
        client.execute(&statement)?;
    }
    let applied: BTreeSet<u32> = client
        .query_rows(&format!(
            "SELECT DISTINCT Version FROM {}",
            layout.migrations_table()
        ))?
        .iter()
        .filter_map(|row| row.first().and_then(serde_json::Value::as_u64))
        .filter_map(|v| u32::try_from(v).ok())
        .collect();
    let mut newly = Vec::new();
    let mut altered = false;
    let mut version = applied.iter().copied().max().unwrap_or(0);
    for migration in layout.migrations() {
        if applied.contains(&migration.version) {
            continue;
        }
        for statement in &migration.statements {
            client.execute(statement)?;
        }
        for add in &migration.add_columns {
            let present = client.query_rows(&format!(
                "SELECT count() FROM system.columns WHERE database = {} AND table = {} AND name = {}",
                string_literal(&layout.database),
                string_literal(&add.table),
                string_literal(add.column.name),
            ))?;
            if present
                .first()
                .and_then(|r| r.first())
                .and_then(serde_json::Value::as_u64)
                == Some(0)
            {
                client.execute(&format!(
                    "ALTER TABLE {}.{} ADD COLUMN {} {} AFTER {}",
                    quote(&layout.database),
                    add.table,
                    add.column.name,
                    add.column.ty,
                    add.after
                ))?;
                altered = true;
            }
        }
        client.execute(&format!(
            "INSERT INTO {} (Version, Description, Applied) VALUES ({}, '{}', now())",
            layout.migrations_table(),
            migration.version,
            migration
                .description
                .replace('\\', "\\\\")
                .replace('\'', "\\'"),
        ))?;
        tracing::info!(
            "ClickHouse schema: applied migration {} ({})",
            migration.version,
            migration.description
        );
        newly.push(migration.version);
        version = version.max(migration.version);
    }
    if altered {
        // Distributed tables copy their columns when created: make them again over the altered tables.
        for table in layout.distributed_names() {
            client.execute(&format!("DROP TABLE IF EXISTS {table}"))?;
        }
    }
    for statement in layout.distributed_tables() {
        client.execute(&statement)?;
    }
    if ServerVersion::parse(&server_version).is_some_and(ServerVersion::has_ttl) {
        for (table, _) in layout.retained_tables() {
            if let Some(days) = retention.days(table) {
                client.execute(&layout.ttl_statement(table, days))?;
            }
        }
    }
    Ok(SchemaReport {
        server_version,
        applied: newly,
        version,
    })
}

/// Drops every partition whose newest row is older than its table's retention; returns how many.
pub fn drop_expired_partitions(
    client: &Client,
    layout: &Layout,
    retention: &Retention,
) -> Result<usize, ClickHouseError> {
    let mut dropped = 0;
    for (table, local) in layout.retained_tables() {
        let Some(days) = retention.days(table) else {
            continue;
        };
        let rows = client.query_rows(&format!(
            "SELECT partition FROM system.parts WHERE database = '{db}' AND table = '{local}' AND active \
             GROUP BY partition HAVING max(max_time) < now() - INTERVAL {days} DAY",
            db = layout.database.replace('\\', "\\\\").replace('\'', "\\'"),
        ))?;
        for partition in rows
            .iter()
            .filter_map(|row| row.first().and_then(serde_json::Value::as_str))
        {
            // toYYYYMMDD / toYYYYMM partitions are plain numbers; anything else is not ours to drop.
            if partition.is_empty() || !partition.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            client.execute(&format!(
                "ALTER TABLE {}.{local} DROP PARTITION {partition}",
                quote(&layout.database)
            ))?;
            tracing::info!(
                "retention: dropped partition {partition} of {local} (older than {days} days)"
            );
            dropped += 1;
        }
    }
    Ok(dropped)
}
