//! A [`FlowRow`] with its names → RowBinary bytes, in the order of [`crate::schema::FLOW_COLUMNS`].

use std::sync::Arc;

use crate::row::FlowRow;
use crate::rowbinary::{RowBinary, address_bytes};

/// An interface's names as stored (empty when unknown).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceNames {
    /// ifName.
    pub name: Arc<str>,
    /// ifAlias, else ifDescr when it differs from ifName (Akvorado's rule).
    pub description: Arc<str>,
    /// ifHighSpeed (Mbit/s).
    pub speed_mbps: u32,
}

/// The names that label one row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowNames {
    /// sysName (SNMP) or host_descr hostname (sFlow).
    pub exporter: Arc<str>,
    /// ifName of the data source, when it is an interface.
    pub source: Arc<str>,
    /// Names of the input interface.
    pub input: InterfaceNames,
    /// Names of the output interface.
    pub output: InterfaceNames,
}

/// Appends one row in RowBinary.
pub fn encode_row(row: &FlowRow, names: &RowNames, out: &mut Vec<u8>) {
    out.u32(row.time_received);
    out.u32(row.sampling_rate);
    out.fixed16(&address_bytes(row.exporter));
    out.u32(row.sub_agent);
    out.string(&names.exporter);
    out.u8(row.source_class);
    out.u32(row.source_index);
    out.string(&names.source);
    out.u32(row.in_if);
    out.u32(row.out_if);
    out.string(&names.input.name);
    out.string(&names.output.name);
    out.string(&names.input.description);
    out.string(&names.output.description);
    out.u32(names.input.speed_mbps);
    out.u32(names.output.speed_mbps);
    out.u8(u8::from(row.discarded));
    out.u32(row.discard_reason);
    out.u16(row.etype);
    out.u64(row.src_mac);
    out.u64(row.dst_mac);
    out.u16(row.src_vlan);
    out.u16(row.dst_vlan);
    out.fixed16(&address_bytes(row.src_addr));
    out.fixed16(&address_bytes(row.dst_addr));
    out.u8(row.proto);
    out.u16(row.src_port);
    out.u16(row.dst_port);
    out.u16(row.tcp_flags);
    out.u8(row.dscp);
    out.u8(row.ip_ttl);
    out.u32(row.frame_length);
    out.fixed16(&address_bytes(row.inner_src_addr));
    out.fixed16(&address_bytes(row.inner_dst_addr));
    out.u8(row.inner_proto);
    out.fixed16(&address_bytes(row.next_hop));
    out.u32(row.src_as);
    out.u32(row.dst_as);
    out.u8(row.src_mask);
    out.u8(row.dst_mask);
    out.u64(row.bytes);
    out.u64(row.packets);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FLOW_COLUMNS;

    /// Fixed widths of the column types, to check the encoder writes every column once.
    fn width(ty: &str) -> Option<usize> {
        Some(match ty {
            "UInt8" => 1,
            "UInt16" => 2,
            "UInt32" | "DateTime('UTC')" => 4,
            "UInt64" => 8,
            "FixedString(16)" => 16,
            "String" => 1, // empty strings: one length byte
            _ => return None,
        })
    }

    #[test]
    fn encoder_writes_every_column_in_order() {
        let mut out = Vec::new();
        encode_row(&FlowRow::default(), &RowNames::default(), &mut out);
        let expected: usize = FLOW_COLUMNS
            .iter()
            .map(|c| width(c.ty).expect("known type"))
            .sum();
        assert_eq!(out.len(), expected);
    }
}
