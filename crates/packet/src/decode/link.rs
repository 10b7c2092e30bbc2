//! Ethernet II / 802.3 LLC-SNAP, 802.1Q/802.1ad tags, MPLS label stacks and ARP.

use super::{Continuation, LevelDecoder};
use crate::bytes::{array_at, be16, be32, has, ipv4_at, mac_at, u8_at};
use crate::fields::{Arp, Ethernet, MplsLabel, Vlan};
use crate::stack::Proto;

const ETHERNET_HEADER_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
/// EtherType values at or below this are 802.3 length fields.
const MAX_8023_LENGTH: u16 = 1500;
const SNAP_HEADER: [u8; 3] = [0xaa, 0xaa, 0x03];
const LLC_SNAP_LEN: usize = 8;
const MPLS_ENTRY_LEN: usize = 4;
const ARP_IPV4_ETHERNET_LEN: usize = 28;

fn is_vlan_tpid(ethertype: u16) -> bool {
    matches!(ethertype, 0x8100 | 0x88a8 | 0x9100 | 0x9200 | 0x9300)
}

impl LevelDecoder<'_> {
    pub(super) fn ethernet(&mut self, start: usize) -> Continuation {
        let b = self.bytes;
        let (Some(dst), Some(src), Some(mut ethertype)) =
            (mac_at(b, start), mac_at(b, start + 6), be16(b, start + 12))
        else {
            return self.cut_off(Proto::Eth);
        };
        self.stack.push(Proto::Eth);
        let mut eth = Ethernet {
            dst,
            src,
            ethertype,
            header_len: 0,
            llc: false,
        };
        let mut pos = start + ETHERNET_HEADER_LEN;

        while is_vlan_tpid(ethertype) {
            let (Some(tci), Some(next)) = (be16(b, pos), be16(b, pos + 2)) else {
                return self.finish_ethernet(eth, start, pos, Some(Proto::Vlan));
            };
            let vlan = Vlan {
                tpid: ethertype,
                id: tci & 0x0fff,
                priority: (tci >> 13) as u8,
                dei: tci & 0x1000 != 0,
            };
            if !self.headers.vlans.push(vlan) {
                // More tags than recorded: stop rather than guess.
                return self.finish_ethernet(eth, start, pos, None);
            }
            self.stack.push(Proto::Vlan);
            ethertype = next;
            eth.ethertype = next;
            pos += VLAN_TAG_LEN;
        }

        if ethertype <= MAX_8023_LENGTH {
            // 802.3 length field: only LLC/SNAP with a zero OUI carries an EtherType (RFC 1042).
            eth.llc = true;
            let Some(llc) = array_at::<3>(b, pos) else {
                return self.finish_ethernet(eth, start, pos, None);
            };
            if llc != SNAP_HEADER {
                return self.finish_ethernet(eth, start, pos, None);
            }
            let (Some(oui), Some(snap_type)) = (array_at::<3>(b, pos + 3), be16(b, pos + 6)) else {
                return self.finish_ethernet(eth, start, pos, None);
            };
            if oui != [0, 0, 0] {
                return self.finish_ethernet(eth, start, pos, None);
            }
            ethertype = snap_type;
            eth.ethertype = snap_type;
            pos += LLC_SNAP_LEN;
        }

        self.finish_ethernet(eth, start, pos, None);
        self.network(pos, ethertype)
    }

    fn finish_ethernet(
        &mut self,
        mut eth: Ethernet,
        start: usize,
        pos: usize,
        cut: Option<Proto>,
    ) -> Continuation {
        eth.header_len = u16::try_from(pos - start).unwrap_or(u16::MAX);
        self.headers.ethernet = Some(eth);
        match cut {
            Some(proto) => self.cut_off(proto),
            None => Continuation::Done,
        }
    }

    pub(super) fn mpls(&mut self, start: usize) -> Continuation {
        let b = self.bytes;
        let mut pos = start;
        loop {
            let Some(entry) = be32(b, pos) else {
                return self.cut_off(Proto::Mpls);
            };
            if self.headers.mpls.is_empty() {
                self.stack.push(Proto::Mpls);
            }
            let label = MplsLabel {
                label: entry >> 12,
                tc: ((entry >> 9) & 0b111) as u8,
                bottom_of_stack: entry & 0x100 != 0,
                ttl: (entry & 0xff) as u8,
            };
            self.headers.mpls.push(label);
            pos += MPLS_ENTRY_LEN;
            if label.bottom_of_stack {
                break;
            }
        }
        // MPLS does not say what it carries: guess from the IP version nibble.
        match u8_at(b, pos).map(|v| v >> 4) {
            Some(4) => self.ipv4(pos),
            Some(6) => self.ipv6(pos),
            // Payload cut off before its first byte: its protocol cannot even be guessed.
            None => self.cut_off(Proto::Mpls),
            Some(_) => Continuation::Done,
        }
    }

    pub(super) fn arp(&mut self, start: usize) -> Continuation {
        let b = self.bytes;
        if !has(b, start, ARP_IPV4_ETHERNET_LEN) {
            return self.cut_off(Proto::Arp);
        }
        let is_ipv4_over_ethernet = be16(b, start) == Some(1)
            && be16(b, start + 2) == Some(0x0800)
            && u8_at(b, start + 4) == Some(6)
            && u8_at(b, start + 5) == Some(4);
        if !is_ipv4_over_ethernet {
            return Continuation::Done;
        }
        let fields = (
            be16(b, start + 6),
            mac_at(b, start + 8),
            ipv4_at(b, start + 14),
            mac_at(b, start + 18),
            ipv4_at(b, start + 24),
        );
        if let (
            Some(operation),
            Some(sender_mac),
            Some(sender_ip),
            Some(target_mac),
            Some(target_ip),
        ) = fields
        {
            self.headers.arp = Some(Arp {
                operation,
                sender_mac,
                sender_ip,
                target_mac,
                target_ip,
            });
            self.stack.push(Proto::Arp);
        }
        Continuation::Done
    }
}
