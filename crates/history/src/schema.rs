//! The ClickHouse schema: the `flows` table (one row per sample), the `flows_1m` / `flows_5m` / `flows_1h`
//! rollups kept by materialized views (as Akvorado's `flows_1m0s` / `flows_5m0s` / `flows_1h0m0s`), versioned migrations, and the cluster layout (local tables + `Distributed` tables under
//! the plain names, so queries read every shard).
//!
//! Everything here runs on Debian's ClickHouse 18.16 and on current servers (see `flow-store.md` §4–5): addresses
//! are `FixedString(16)` (IPv4-mapped), names plain `String`, times `DateTime('UTC')`, new-style MergeTree DDL,
//! one level of materialized views, partitions by day. Retention is by dropping whole partitions, which works
//! everywhere; servers with TTL (19.6+) also get a table TTL.

use std::fmt::Write as _;

/// One stored column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// ClickHouse type, as written in `CREATE TABLE`.
    pub ty: &'static str,
    /// What it holds (the README's column table is generated from these).
    pub doc: &'static str,
}

const fn column(name: &'static str, ty: &'static str, doc: &'static str) -> Column {
    Column { name, ty, doc }
}

const ADDR: &str = "FixedString(16)";
const TIME: &str = "DateTime('UTC')";

/// The columns of `flows`, in RowBinary order (see `encode.rs`).
pub(crate) const FLOW_COLUMNS: &[Column] = &[
    column("TimeReceived", TIME, "time rtflow received the datagram"),
    column(
        "SamplingRate",
        "UInt32",
        "1-in-N sampling rate of the sample (1 for discards)",
    ),
    column(
        "ExporterAddress",
        ADDR,
        "agent address of the datagram, IPv4-mapped",
    ),
    column("ExporterSubAgent", "UInt32", "sub-agent id"),
    column(
        "ExporterName",
        "String",
        "SNMP sysName, else the host_descr hostname",
    ),
    column(
        "SourceIdType",
        "UInt8",
        "data source class (0 ifIndex, 1 VLAN, 2 entity)",
    ),
    column("SourceIdIndex", "UInt32", "data source index"),
    column(
        "SourceIdName",
        "String",
        "ifName of the data source interface (class 0); agents such as pmacct's sfprobe report no input/output ports",
    ),
    column("InIf", "UInt32", "input ifIndex (0 unknown)"),
    column(
        "OutIf",
        "UInt32",
        "output ifIndex (0 unknown, internal, multiple or discarded)",
    ),
    column(
        "InIfName",
        "String",
        "input ifName (SNMP, else sFlow port_name)",
    ),
    column("OutIfName", "String", "output ifName"),
    column("InIfDescription", "String", "input ifAlias, else ifDescr"),
    column("OutIfDescription", "String", "output ifAlias, else ifDescr"),
    column("InIfSpeed", "UInt32", "input ifHighSpeed, Mbit/s"),
    column("OutIfSpeed", "UInt32", "output ifHighSpeed, Mbit/s"),
    column(
        "Discarded",
        "UInt8",
        "1 for a discard sample or a flow sample whose output is 'discarded'",
    ),
    column("DiscardReason", "UInt32", "sFlow drop reason code"),
    column("EType", "UInt16", "EtherType"),
    column("SrcMAC", "UInt64", "source MAC as a number"),
    column("DstMAC", "UInt64", "destination MAC as a number"),
    column(
        "SrcVlan",
        "UInt16",
        "incoming 802.1Q VLAN (extended_switch, else the header's tag)",
    ),
    column("DstVlan", "UInt16", "outgoing 802.1Q VLAN"),
    column("SrcAddr", ADDR, "source IP, IPv4-mapped"),
    column("DstAddr", ADDR, "destination IP, IPv4-mapped"),
    column("Proto", "UInt8", "IP protocol"),
    column("SrcPort", "UInt16", "TCP/UDP source port"),
    column("DstPort", "UInt16", "TCP/UDP destination port"),
    column("TCPFlags", "UInt16", "TCP flags"),
    column("DSCP", "UInt8", "DiffServ code point"),
    column("IPTTL", "UInt8", "IPv4 TTL / IPv6 hop limit"),
    column("FrameLength", "UInt32", "sampled frame length, bytes"),
    column(
        "InnerSrcAddr",
        ADDR,
        "source IP inside a VXLAN/Geneve/GRE/IP-in-IP tunnel",
    ),
    column("InnerDstAddr", ADDR, "destination IP inside the tunnel"),
    column("InnerProto", "UInt8", "IP protocol inside the tunnel"),
    column(
        "NextHop",
        ADDR,
        "extended_router (else extended_gateway) next hop",
    ),
    column("SrcAS", "UInt32", "extended_gateway source AS"),
    column(
        "DstAS",
        "UInt32",
        "extended_gateway destination AS (last of the path)",
    ),
    column(
        "SrcNetMask",
        "UInt8",
        "extended_router source prefix length",
    ),
    column(
        "DstNetMask",
        "UInt8",
        "extended_router destination prefix length",
    ),
    column("Bytes", "UInt64", "FrameLength x SamplingRate"),
    column(
        "Packets",
        "UInt64",
        "SamplingRate (packets this sample stands for)",
    ),
];

/// The columns of the rollups, in table order. Grouping columns first, then descriptions (any value of the
/// group), then the sums.
pub(crate) const ROLLUP_COLUMNS: &[Column] = &[
    column("TimeReceived", TIME, "start of the minute / hour"),
    column("ExporterAddress", ADDR, ""),
    column("ExporterName", "String", ""),
    column("InIf", "UInt32", ""),
    column("OutIf", "UInt32", ""),
    column("InIfName", "String", ""),
    column("OutIfName", "String", ""),
    column("Discarded", "UInt8", ""),
    column("EType", "UInt16", ""),
    column("Proto", "UInt8", ""),
    column("SrcAS", "UInt32", ""),
    column("DstAS", "UInt32", ""),
    column("InIfDescription", "String", ""),
    column("OutIfDescription", "String", ""),
    column("InIfSpeed", "UInt32", ""),
    column("OutIfSpeed", "UInt32", ""),
    column("Bytes", "UInt64", "sum of Bytes"),
    column("Packets", "UInt64", "sum of Packets"),
    column("Flows", "UInt64", "number of samples"),
];

/// Rollup columns the materialized views group by (the rest are `any()` or sums).
const ROLLUP_KEYS: &[&str] = &[
    "TimeReceived",
    "ExporterAddress",
    "InIf",
    "OutIf",
    "EType",
    "Proto",
    "SrcAS",
    "DstAS",
    "Discarded",
    "ExporterName",
    "InIfName",
    "OutIfName",
];
const ROLLUP_ANY: &[&str] = &[
    "InIfDescription",
    "OutIfDescription",
    "InIfSpeed",
    "OutIfSpeed",
];

/// A rollup table: its name, the bucket function and its partitioning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rollup {
    /// Table name (`flows_1m`, `flows_1h`).
    pub table: &'static str,
    /// Bucket width in seconds.
    pub seconds: u64,
    bucket_function: &'static str,
    partition: &'static str,
    /// The migration that creates it.
    migration: u32,
    description: &'static str,
    /// A rollup added after others is filled from this finer one when it is created.
    backfill_from: Option<&'static str>,
}

/// The rollups, finest first.
pub(crate) const ROLLUPS: &[Rollup] = &[
    Rollup {
        table: "flows_1m",
        seconds: 60,
        bucket_function: "toStartOfMinute",
        partition: "toYYYYMMDD(TimeReceived)",
        migration: 2,
        description: "flows_1m: 1-minute rollup by materialized view",
        backfill_from: None,
    },
    Rollup {
        table: "flows_5m",
        seconds: 300,
        // `toStartOfFiveMinute` (singular) is the spelling both 18.16 and current servers know.
        bucket_function: "toStartOfFiveMinute",
        partition: "toYYYYMMDD(TimeReceived)",
        migration: 5,
        description: "flows_5m: 5-minute rollup by materialized view, filled from flows_1m",
        backfill_from: Some("flows_1m"),
    },
    Rollup {
        table: "flows_1h",
        seconds: 3600,
        bucket_function: "toStartOfHour",
        partition: "toYYYYMM(TimeReceived)",
        migration: 3,
        description: "flows_1h: 1-hour rollup by materialized view",
        backfill_from: None,
    },
];

/// The raw table.
pub(crate) const FLOWS_TABLE: &str = "flows";
/// The table of applied migrations.
pub(crate) const MIGRATIONS_TABLE: &str = "rtflow_migrations";

/// Where the tables live and how they are laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Database name.
    pub database: String,
    /// `Some(cluster)`: rows go to `<table>_local` on the node rtflow talks to and `<table>` is a `Distributed`
    /// table over `<table>_local` on every shard of `cluster` (a `remote_servers` entry of the server config).
    pub cluster: Option<String>,
}

impl Layout {
    /// The table rows are inserted into (`flows`, or `flows_local` in a cluster).
    pub fn insert_table(&self) -> String {
        self.local(FLOWS_TABLE)
    }

    /// `db.table` of the table that holds this node's rows.
    fn local(&self, table: &str) -> String {
        match self.cluster {
            Some(_) => format!("{}.{table}_local", quote(&self.database)),
            None => format!("{}.{table}", quote(&self.database)),
        }
    }

    /// `db.table` of the table queries read (all shards in a cluster).
    pub(crate) fn query_table(&self, table: &str) -> String {
        format!("{}.{table}", quote(&self.database))
    }

    /// The tables whose partitions age out, with their local (per-node) names.
    pub(crate) fn retained_tables(&self) -> Vec<(&'static str, String)> {
        std::iter::once(FLOWS_TABLE)
            .chain(ROLLUPS.iter().map(|r| r.table))
            .map(|t| (t, self.local_name(t)))
            .collect()
    }

    /// A table's name in the database (`flows`, or `flows_local` in a cluster).
    pub(crate) fn local_name(&self, table: &str) -> String {
        match self.cluster {
            Some(_) => format!("{table}_local"),
            None => table.to_string(),
        }
    }

    /// The migrations table.
    pub(crate) fn migrations_table(&self) -> String {
        format!("{}.{MIGRATIONS_TABLE}", quote(&self.database))
    }

    /// `CREATE DATABASE` and the migrations table: run before reading which migrations were applied.
    pub fn bootstrap(&self) -> Vec<String> {
        vec![
            format!("CREATE DATABASE IF NOT EXISTS {}", quote(&self.database)),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (Version UInt32, Description String, Applied {TIME}) \
                 ENGINE = MergeTree ORDER BY Version",
                self.migrations_table()
            ),
        ]
    }

    /// Every migration, in order. Each is idempotent (`IF NOT EXISTS`), so two rtflow instances starting
    /// against one database at once do no harm.
    pub fn migrations(&self) -> Vec<Migration> {
        // Version 1 creates `flows` with today's columns; later versions add columns to older tables (and find
        // them already there on new installs).
        let mut migrations = vec![
            Migration {
                version: 1,
                description: "flows: one row per flow or discard sample",
                statements: vec![self.create_flows()],
                add_columns: Vec::new(),
            },
            Migration {
                version: 4,
                description: "flows.SourceIdName: the data source interface's name",
                statements: Vec::new(),
                add_columns: vec![AddColumn {
                    table: self.local_name(FLOWS_TABLE),
                    column: column_named("SourceIdName"),
                    after: "SourceIdIndex",
                }],
            },
        ];
        for rollup in ROLLUPS {
            let mut statements = vec![self.create_rollup(rollup), self.create_rollup_view(rollup)];
            // A rollup added to a running installation starts with what the finer rollup already holds.
            if let Some(finer) = rollup.backfill_from {
                statements.push(self.backfill_rollup(rollup, finer));
            }
            migrations.push(Migration {
                version: rollup.migration,
                description: rollup.description,
                statements,
                add_columns: Vec::new(),
            });
        }
        migrations.sort_by_key(|m| m.version);
        migrations
    }

    fn create_flows(&self) -> String {
        let mut sql = format!("CREATE TABLE IF NOT EXISTS {} (", self.local(FLOWS_TABLE));
        push_columns(&mut sql, FLOW_COLUMNS);
        sql.push_str(
            ") ENGINE = MergeTree PARTITION BY toYYYYMMDD(TimeReceived) \
             ORDER BY (toStartOfFiveMinute(TimeReceived), ExporterAddress, InIf, OutIf) \
             SETTINGS index_granularity = 8192",
        );
        sql
    }

    fn create_rollup(&self, rollup: &Rollup) -> String {
        let mut sql = format!("CREATE TABLE IF NOT EXISTS {} (", self.local(rollup.table));
        push_columns(&mut sql, ROLLUP_COLUMNS);
        let _ = write!(
            sql,
            ") ENGINE = SummingMergeTree((Bytes, Packets, Flows)) PARTITION BY {} \
             PRIMARY KEY (TimeReceived, ExporterAddress, InIf, OutIf) ORDER BY ({}) \
             SETTINGS index_granularity = 8192",
            rollup.partition,
            ROLLUP_KEYS.join(", ")
        );
        sql
    }

    fn create_rollup_view(&self, rollup: &Rollup) -> String {
        let select = rollup_select(rollup, "count()");
        format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{view} TO {target} AS SELECT {select} FROM {source} \
             GROUP BY {keys}",
            db = quote(&self.database),
            view = format_args!("{}_mv", self.local_name(rollup.table)),
            target = self.local(rollup.table),
            select = select.join(", "),
            source = self.local(FLOWS_TABLE),
            keys = ROLLUP_KEYS.join(", "),
        )
    }

    /// Fills a new rollup from a finer one (only while it is empty, so a migration run twice does not count twice).
    /// Runs before this instance inserts anything (migrations come first), and the view already feeds the new
    /// table, so every row is counted once.
    fn backfill_rollup(&self, rollup: &Rollup, finer: &str) -> String {
        let select = rollup_select(rollup, "sum(Flows)");
        format!(
            "INSERT INTO {target} SELECT {select} FROM {source} WHERE (SELECT count() FROM {target}) = 0 \
             GROUP BY {keys}",
            target = self.local(rollup.table),
            select = select.join(", "),
            source = self.local(finer),
            keys = ROLLUP_KEYS.join(", "),
        )
    }

    /// In a cluster: the `Distributed` tables under the plain names (created on every start, idempotent).
    pub(crate) fn distributed_tables(&self) -> Vec<String> {
        let Some(cluster) = &self.cluster else {
            return Vec::new();
        };
        std::iter::once(FLOWS_TABLE)
            .chain(ROLLUPS.iter().map(|r| r.table))
            .map(|table| {
                format!(
                    "CREATE TABLE IF NOT EXISTS {plain} AS {local} ENGINE = Distributed({cluster}, {db}, {table}_local, rand())",
                    plain = self.query_table(table),
                    local = self.local(table),
                    cluster = quote(cluster),
                    db = quote(&self.database),
                )
            })
            .collect()
    }

    /// In a cluster, the `Distributed` tables (`db.flows`, …); none otherwise.
    pub(crate) fn distributed_names(&self) -> Vec<String> {
        if self.cluster.is_none() {
            return Vec::new();
        }
        std::iter::once(FLOWS_TABLE)
            .chain(ROLLUPS.iter().map(|r| r.table))
            .map(|table| self.query_table(table))
            .collect()
    }

    /// On servers with TTL support: `ALTER TABLE … MODIFY TTL` for one retained table.
    pub(crate) fn ttl_statement(&self, table: &str, days: u32) -> String {
        format!(
            "ALTER TABLE {}.{} MODIFY TTL TimeReceived + INTERVAL {days} DAY",
            quote(&self.database),
            self.local_name(table)
        )
    }
}

/// The `SELECT` list that fills a rollup's columns, in table order (every column: 18.16 refuses a view that
/// leaves one out); `flows` counts the samples (`count()` from raw rows, `sum(Flows)` from a finer rollup).
fn rollup_select(rollup: &Rollup, flows: &str) -> Vec<String> {
    ROLLUP_COLUMNS
        .iter()
        .map(|column| match column.name {
            "TimeReceived" => format!("{}(TimeReceived) AS TimeReceived", rollup.bucket_function),
            name @ ("Bytes" | "Packets") => format!("sum({name}) AS {name}"),
            "Flows" => format!("{flows} AS Flows"),
            name if ROLLUP_ANY.contains(&name) => format!("any({name}) AS {name}"),
            name => name.to_string(),
        })
        .collect()
}

/// A numbered schema change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Number recorded in the migrations table once applied; migrations run in ascending order.
    pub version: u32,
    /// What the migration does (stored with it).
    pub description: &'static str,
    /// Statements run in order.
    pub statements: Vec<String>,
    /// Columns added to existing tables when missing (18.16 has no `ADD COLUMN IF NOT EXISTS`).
    pub add_columns: Vec<AddColumn>,
}

/// `ALTER TABLE … ADD COLUMN` of one column, skipped when the column exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddColumn {
    /// Table name in the layout's database (the local table in a cluster).
    pub table: String,
    /// The column to add.
    pub column: Column,
    /// The existing column it goes after.
    pub after: &'static str,
}

fn column_named(name: &str) -> Column {
    FLOW_COLUMNS
        .iter()
        .find(|c| c.name == name)
        .copied()
        .unwrap_or(Column {
            name: "",
            ty: "",
            doc: "",
        })
}

fn push_columns(sql: &mut String, columns: &[Column]) {
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "{} {}", column.name, column.ty);
    }
}

/// The column list of an `INSERT` of every flow column, in RowBinary order.
pub fn flow_column_list() -> String {
    FLOW_COLUMNS
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Quotes an identifier with back-quotes when it is not a plain `[A-Za-z_][A-Za-z0-9_]*` name.
pub fn quote(identifier: &str) -> String {
    let plain = identifier
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && identifier
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        identifier.to_string()
    } else {
        let escaped = identifier.replace('\\', "\\\\").replace('`', "\\`");
        format!("`{escaped}`")
    }
}

/// A ClickHouse server version, from `SELECT version()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl ServerVersion {
    /// `18.16.1` → 18.16; `None` for text that does not start with two numbers.
    pub fn parse(text: &str) -> Option<ServerVersion> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(ServerVersion { major, minor })
    }

    /// Table TTL exists since 19.6.
    pub(crate) fn has_ttl(self) -> bool {
        self >= ServerVersion {
            major: 19,
            minor: 6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single() -> Layout {
        Layout {
            database: "rtflow".into(),
            cluster: None,
        }
    }

    #[test]
    fn identifiers_are_quoted_when_needed() {
        assert_eq!(quote("rtflow"), "rtflow");
        assert_eq!(quote("my-db"), "`my-db`");
        assert_eq!(quote("a`b"), "`a\\`b`");
        assert_eq!(quote("1db"), "`1db`");
    }

    #[test]
    fn migrations_are_numbered_in_order_from_one() {
        let versions: Vec<u32> = single().migrations().iter().map(|m| m.version).collect();
        assert_eq!(versions, vec![1, 2, 3, 4, 5]);
        // Only the rollup that came later is filled from a finer one (the 1-minute rollup).
        let backfills: Vec<u32> = single()
            .migrations()
            .iter()
            .filter(|m| m.statements.iter().any(|s| s.starts_with("INSERT")))
            .map(|m| m.version)
            .collect();
        assert_eq!(backfills, vec![5]);
        let five = &single().migrations()[4];
        assert!(
            five.statements[2].contains("FROM rtflow.flows_1m WHERE"),
            "{five:?}"
        );
    }

    #[test]
    fn rollup_views_output_every_rollup_column() {
        // 18.16 refuses (and half-applies the insert) when a view does not produce every column of its table.
        for statement in single().migrations().iter().flat_map(|m| &m.statements) {
            if statement.contains("MATERIALIZED VIEW") {
                for column in ROLLUP_COLUMNS {
                    assert!(
                        statement.contains(&format!("AS {}", column.name))
                            || statement.contains(&format!(" {},", column.name)),
                        "{} missing in {statement}",
                        column.name
                    );
                }
            }
        }
    }

    #[test]
    fn cluster_layout_inserts_locally_and_queries_distributed() {
        let layout = Layout {
            database: "rtflow".into(),
            cluster: Some("two".into()),
        };
        assert_eq!(layout.insert_table(), "rtflow.flows_local");
        assert_eq!(layout.query_table("flows_1m"), "rtflow.flows_1m");
        let distributed = layout.distributed_tables();
        assert_eq!(distributed.len(), 4);
        assert!(distributed[0].contains("Distributed(two, rtflow, flows_local, rand())"));
        assert!(single().distributed_tables().is_empty());
    }

    #[test]
    fn versions_parse_and_know_ttl() {
        let debian = ServerVersion::parse("18.16.1").unwrap();
        assert!(!debian.has_ttl());
        assert!(ServerVersion::parse("26.9.2.1").unwrap().has_ttl());
        assert!(ServerVersion::parse("19.6.2").unwrap().has_ttl());
        assert_eq!(ServerVersion::parse("x"), None);
    }
}
