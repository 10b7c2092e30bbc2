//! Counter records (the `counter_data` structures of counter samples).
//!
//! Fixed-layout structures are transcribed from the sFlow v5 specification family (field names
//! are the snake-cased MIB object / spec names); strings are borrowed raw bytes.

use crate::error::XdrError;
use crate::record::{Records, record_enum};
use crate::types::{MacAddr, fixed_list};
use crate::xdr::{Reader, Xdr, put_u32, xdr_struct};

xdr_struct! {
    #[derive(Default)]
    /// 0:1 generic interface counters (RFC 2233 ifTable/ifXTable).
    pub struct GenericInterfaceCounters {
        pub if_index: u32,
        pub if_type: u32,
        pub if_speed: u64,
        pub if_direction: u32,
        pub if_status: u32,
        pub if_in_octets: u64,
        pub if_in_ucast_pkts: u32,
        pub if_in_multicast_pkts: u32,
        pub if_in_broadcast_pkts: u32,
        pub if_in_discards: u32,
        pub if_in_errors: u32,
        pub if_in_unknown_protos: u32,
        pub if_out_octets: u64,
        pub if_out_ucast_pkts: u32,
        pub if_out_multicast_pkts: u32,
        pub if_out_broadcast_pkts: u32,
        pub if_out_discards: u32,
        pub if_out_errors: u32,
        pub if_promiscuous_mode: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2 Ethernet interface counters (RFC 2358 dot3Stats).
    pub struct EthernetCounters {
        pub dot3_stats_alignment_errors: u32,
        pub dot3_stats_fcs_errors: u32,
        pub dot3_stats_single_collision_frames: u32,
        pub dot3_stats_multiple_collision_frames: u32,
        pub dot3_stats_sqe_test_errors: u32,
        pub dot3_stats_deferred_transmissions: u32,
        pub dot3_stats_late_collisions: u32,
        pub dot3_stats_excessive_collisions: u32,
        pub dot3_stats_internal_mac_transmit_errors: u32,
        pub dot3_stats_carrier_sense_errors: u32,
        pub dot3_stats_frame_too_longs: u32,
        pub dot3_stats_internal_mac_receive_errors: u32,
        pub dot3_stats_symbol_errors: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:3 token ring counters (RFC 1748 dot5Stats).
    pub struct TokenRingCounters {
        pub dot5_stats_line_errors: u32,
        pub dot5_stats_burst_errors: u32,
        pub dot5_stats_ac_errors: u32,
        pub dot5_stats_abort_trans_errors: u32,
        pub dot5_stats_internal_errors: u32,
        pub dot5_stats_lost_frame_errors: u32,
        pub dot5_stats_receive_congestions: u32,
        pub dot5_stats_frame_copied_errors: u32,
        pub dot5_stats_token_errors: u32,
        pub dot5_stats_soft_errors: u32,
        pub dot5_stats_hard_errors: u32,
        pub dot5_stats_signal_loss: u32,
        pub dot5_stats_transmit_beacons: u32,
        pub dot5_stats_recoverys: u32,
        pub dot5_stats_lobe_wires: u32,
        pub dot5_stats_removes: u32,
        pub dot5_stats_singles: u32,
        pub dot5_stats_freq_errors: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:4 100BaseVG interface counters (RFC 2020 dot12).
    pub struct Vg100Counters {
        pub dot12_in_high_priority_frames: u32,
        pub dot12_in_high_priority_octets: u64,
        pub dot12_in_norm_priority_frames: u32,
        pub dot12_in_norm_priority_octets: u64,
        pub dot12_in_ipm_errors: u32,
        pub dot12_in_oversize_frame_errors: u32,
        pub dot12_in_data_errors: u32,
        pub dot12_in_null_addressed_frames: u32,
        pub dot12_out_high_priority_frames: u32,
        pub dot12_out_high_priority_octets: u64,
        pub dot12_transition_into_trainings: u32,
        pub dot12_hc_in_high_priority_octets: u64,
        pub dot12_hc_in_norm_priority_octets: u64,
        pub dot12_hc_out_high_priority_octets: u64,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:5 VLAN counters.
    pub struct VlanCounters {
        pub vlan_id: u32,
        pub octets: u64,
        pub ucast_pkts: u32,
        pub multicast_pkts: u32,
        pub broadcast_pkts: u32,
        pub discards: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:6 IEEE 802.11 counters (dot11Counters).
    pub struct Ieee80211Counters {
        pub dot11_transmitted_fragment_count: u32,
        pub dot11_multicast_transmitted_frame_count: u32,
        pub dot11_failed_count: u32,
        pub dot11_retry_count: u32,
        pub dot11_multiple_retry_count: u32,
        pub dot11_frame_duplicate_count: u32,
        pub dot11_rts_success_count: u32,
        pub dot11_rts_failure_count: u32,
        pub dot11_ack_failure_count: u32,
        pub dot11_received_fragment_count: u32,
        pub dot11_multicast_received_frame_count: u32,
        pub dot11_fcs_error_count: u32,
        pub dot11_transmitted_frame_count: u32,
        pub dot11_wep_undecryptable_count: u32,
        pub dot11_qos_discarded_fragment_count: u32,
        pub dot11_associated_station_count: u32,
        pub dot11_qos_cf_polls_received_count: u32,
        pub dot11_qos_cf_polls_unused_count: u32,
        pub dot11_qos_cf_polls_unusable_count: u32,
        pub dot11_qos_cf_polls_lost_count: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:7 LAG port statistics (IEEE8023-LAG-MIB). `port_state` packs actorAdmin, actorOper, partnerAdmin, partnerOper bytes (most significant first).
    pub struct LagPortCounters {
        pub actor_system_id: MacAddr,
        pub partner_system_id: MacAddr,
        pub attached_agg_id: u32,
        pub port_state: u32,
        pub lacpdus_rx: u32,
        pub marker_pdus_rx: u32,
        pub marker_response_pdus_rx: u32,
        pub unknown_rx: u32,
        pub illegal_rx: u32,
        pub lacpdus_tx: u32,
        pub marker_pdus_tx: u32,
        pub marker_response_pdus_tx: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1001 processor information.
    pub struct ProcessorCounters {
        pub five_sec_cpu: u32,
        pub one_min_cpu: u32,
        pub five_min_cpu: u32,
        pub total_memory: u64,
        pub free_memory: u64,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1002 802.11 radio utilization.
    pub struct RadioCounters {
        pub elapsed_time_ms: u32,
        pub on_channel_time_ms: u32,
        pub on_channel_busy_time_ms: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1004 OpenFlow port.
    pub struct OpenFlowPort {
        pub datapath_id: u64,
        pub port_no: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2002 host parent: the data source of the containing entity.
    pub struct HostParent {
        pub container_type: u32,
        pub container_index: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2004 host memory (bytes and page/swap counts).
    pub struct HostMemory {
        pub mem_total: u64,
        pub mem_free: u64,
        pub mem_shared: u64,
        pub mem_buffers: u64,
        pub mem_cached: u64,
        pub swap_total: u64,
        pub swap_free: u64,
        pub page_in: u32,
        pub page_out: u32,
        pub swap_in: u32,
        pub swap_out: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2005 host disk I/O.
    pub struct HostDiskIo {
        pub disk_total: u64,
        pub disk_free: u64,
        pub part_max_used: u32,
        pub reads: u32,
        pub bytes_read: u64,
        pub read_time_ms: u32,
        pub writes: u32,
        pub bytes_written: u64,
        pub write_time_ms: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2006 host network I/O (also 0:2104 virtual network I/O).
    pub struct HostNetIo {
        pub bytes_in: u64,
        pub pkts_in: u32,
        pub errs_in: u32,
        pub drops_in: u32,
        pub bytes_out: u64,
        pub pkts_out: u32,
        pub errs_out: u32,
        pub drops_out: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2007 MIB-II IP group.
    pub struct Mib2IpGroup {
        pub ip_forwarding: u32,
        pub ip_default_ttl: u32,
        pub ip_in_receives: u32,
        pub ip_in_hdr_errors: u32,
        pub ip_in_addr_errors: u32,
        pub ip_forw_datagrams: u32,
        pub ip_in_unknown_protos: u32,
        pub ip_in_discards: u32,
        pub ip_in_delivers: u32,
        pub ip_out_requests: u32,
        pub ip_out_discards: u32,
        pub ip_out_no_routes: u32,
        pub ip_reasm_timeout: u32,
        pub ip_reasm_reqds: u32,
        pub ip_reasm_oks: u32,
        pub ip_reasm_fails: u32,
        pub ip_frag_oks: u32,
        pub ip_frag_fails: u32,
        pub ip_frag_creates: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2008 MIB-II ICMP group.
    pub struct Mib2IcmpGroup {
        pub icmp_in_msgs: u32,
        pub icmp_in_errors: u32,
        pub icmp_in_dest_unreachs: u32,
        pub icmp_in_time_excds: u32,
        pub icmp_in_param_probs: u32,
        pub icmp_in_src_quenchs: u32,
        pub icmp_in_redirects: u32,
        pub icmp_in_echos: u32,
        pub icmp_in_echo_reps: u32,
        pub icmp_in_timestamps: u32,
        pub icmp_in_addr_masks: u32,
        pub icmp_in_addr_mask_reps: u32,
        pub icmp_out_msgs: u32,
        pub icmp_out_errors: u32,
        pub icmp_out_dest_unreachs: u32,
        pub icmp_out_time_excds: u32,
        pub icmp_out_param_probs: u32,
        pub icmp_out_src_quenchs: u32,
        pub icmp_out_redirects: u32,
        pub icmp_out_echos: u32,
        pub icmp_out_echo_reps: u32,
        pub icmp_out_timestamps: u32,
        pub icmp_out_timestamp_reps: u32,
        pub icmp_out_addr_masks: u32,
        pub icmp_out_addr_mask_reps: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2009 MIB-II TCP group.
    pub struct Mib2TcpGroup {
        pub tcp_rto_algorithm: u32,
        pub tcp_rto_min: u32,
        pub tcp_rto_max: u32,
        pub tcp_max_conn: u32,
        pub tcp_active_opens: u32,
        pub tcp_passive_opens: u32,
        pub tcp_attempt_fails: u32,
        pub tcp_estab_resets: u32,
        pub tcp_curr_estab: u32,
        pub tcp_in_segs: u32,
        pub tcp_out_segs: u32,
        pub tcp_retrans_segs: u32,
        pub tcp_in_errs: u32,
        pub tcp_out_rsts: u32,
        pub tcp_in_csum_errors: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2010 MIB-II UDP group.
    pub struct Mib2UdpGroup {
        pub udp_in_datagrams: u32,
        pub udp_no_ports: u32,
        pub udp_in_errors: u32,
        pub udp_out_datagrams: u32,
        pub udp_rcvbuf_errors: u32,
        pub udp_sndbuf_errors: u32,
        pub udp_in_csum_errors: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2100 virtual node statistics.
    pub struct VirtNode {
        pub mhz: u32,
        pub cpus: u32,
        pub memory: u64,
        pub memory_free: u64,
        pub num_domains: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2101 virtual domain CPU statistics.
    pub struct VirtCpu {
        pub state: u32,
        pub cpu_time_ms: u32,
        pub nr_virt_cpu: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2102 virtual domain memory statistics.
    pub struct VirtMemory {
        pub memory: u64,
        pub max_memory: u64,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2103 virtual domain disk statistics.
    pub struct VirtDiskIo {
        pub capacity: u64,
        pub allocation: u64,
        pub available: u64,
        pub rd_req: u32,
        pub rd_bytes: u64,
        pub wr_req: u32,
        pub wr_bytes: u64,
        pub errs: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2106 JMX runtime statistics.
    pub struct JmxCounters {
        pub heap_initial: u64,
        pub heap_used: u64,
        pub heap_committed: u64,
        pub heap_max: u64,
        pub non_heap_initial: u64,
        pub non_heap_used: u64,
        pub non_heap_committed: u64,
        pub non_heap_max: u64,
        pub gc_count: u32,
        pub gc_time_ms: u32,
        pub classes_loaded: u32,
        pub classes_total: u32,
        pub classes_unloaded: u32,
        pub compilation_time_ms: u32,
        pub threads_live: u32,
        pub threads_daemon: u32,
        pub threads_started: u32,
        pub fds_open: u32,
        pub fds_max: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2201 HTTP counters.
    pub struct HttpCounters {
        pub method_option_count: u32,
        pub method_get_count: u32,
        pub method_head_count: u32,
        pub method_post_count: u32,
        pub method_put_count: u32,
        pub method_delete_count: u32,
        pub method_trace_count: u32,
        pub method_connect_count: u32,
        pub method_other_count: u32,
        pub status_1xx_count: u32,
        pub status_2xx_count: u32,
        pub status_3xx_count: u32,
        pub status_4xx_count: u32,
        pub status_5xx_count: u32,
        pub status_other_count: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2203 application resources.
    pub struct AppResources {
        pub user_time_ms: u32,
        pub system_time_ms: u32,
        pub mem_used: u64,
        pub mem_max: u64,
        pub fd_open: u32,
        pub fd_max: u32,
        pub conn_open: u32,
        pub conn_max: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2204 memcache counters.
    pub struct MemcacheCounters {
        pub cmd_set: u32,
        pub cmd_touch: u32,
        pub cmd_flush: u32,
        pub get_hits: u32,
        pub get_misses: u32,
        pub delete_hits: u32,
        pub delete_misses: u32,
        pub incr_hits: u32,
        pub incr_misses: u32,
        pub decr_hits: u32,
        pub decr_misses: u32,
        pub cas_hits: u32,
        pub cas_misses: u32,
        pub cas_badval: u32,
        pub auth_cmds: u32,
        pub auth_errors: u32,
        pub threads: u32,
        pub conn_yields: u32,
        pub listen_disabled_num: u32,
        pub curr_connections: u32,
        pub rejected_connections: u32,
        pub total_connections: u32,
        pub connection_structures: u32,
        pub evictions: u32,
        pub reclaimed: u32,
        pub curr_items: u32,
        pub total_items: u32,
        pub bytes_read: u64,
        pub bytes_written: u64,
        pub bytes: u64,
        pub limit_maxbytes: u64,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2205 virtual desktop infrastructure counters.
    pub struct VdiCounters {
        pub sessions_current: u32,
        pub sessions_total: u32,
        pub sessions_duration: u32,
        pub rx_bytes: u32,
        pub tx_bytes: u32,
        pub rx_packets: u32,
        pub tx_packets: u32,
        pub rx_packets_lost: u32,
        pub tx_packets_lost: u32,
        pub rtt_min_ms: u32,
        pub rtt_max_ms: u32,
        pub rtt_avg_ms: u32,
        pub audio_rx_bytes: u32,
        pub audio_tx_bytes: u32,
        pub audio_tx_limit: u32,
        pub img_rx_bytes: u32,
        pub img_tx_bytes: u32,
        pub img_frames: u32,
        pub img_qual_min: u32,
        pub img_qual_max: u32,
        pub img_qual_avg: u32,
        pub usb_rx_bytes: u32,
        pub usb_tx_bytes: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2206 application workers.
    pub struct AppWorkers {
        pub workers_active: u32,
        pub workers_idle: u32,
        pub workers_max: u32,
        pub req_delayed: u32,
        pub req_dropped: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// One lane of an 0:10 SFP/optics record (µA, µW, nm).
    pub struct SfpLane {
        pub lane_index: u32,
        pub tx_bias_current: u32,
        pub tx_power: u32,
        pub tx_power_min: u32,
        pub tx_power_max: u32,
        pub tx_wavelength: u32,
        pub rx_power: u32,
        pub rx_power_min: u32,
        pub rx_power_max: u32,
        pub rx_wavelength: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 5703:1 NVIDIA GPU (NVML) counters.
    pub struct NvidiaGpuCounters {
        pub device_count: u32,
        pub processes: u32,
        pub gpu_time_ms: u32,
        pub mem_time_ms: u32,
        pub mem_total: u64,
        pub mem_free: u64,
        pub ecc_errors: u32,
        pub energy_mj: u32,
        pub temperature_c: u32,
        pub fan_speed_percent: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 4413:3 Broadcom switch ASIC table utilization.
    pub struct BroadcomTables {
        pub host_entries: u32,
        pub host_entries_max: u32,
        pub ipv4_entries: u32,
        pub ipv4_entries_max: u32,
        pub ipv6_entries: u32,
        pub ipv6_entries_max: u32,
        pub ipv4_ipv6_entries: u32,
        pub ipv4_ipv6_entries_max: u32,
        pub long_ipv6_entries: u32,
        pub long_ipv6_entries_max: u32,
        pub total_routes: u32,
        pub total_routes_max: u32,
        pub ecmp_nexthops: u32,
        pub ecmp_nexthops_max: u32,
        pub mac_entries: u32,
        pub mac_entries_max: u32,
        pub ipv4_neighbors: u32,
        pub ipv6_neighbors: u32,
        pub ipv4_routes: u32,
        pub ipv6_routes: u32,
        pub acl_ingress_entries: u32,
        pub acl_ingress_entries_max: u32,
        pub acl_ingress_counters: u32,
        pub acl_ingress_counters_max: u32,
        pub acl_ingress_meters: u32,
        pub acl_ingress_meters_max: u32,
        pub acl_ingress_slices: u32,
        pub acl_ingress_slices_max: u32,
        pub acl_egress_entries: u32,
        pub acl_egress_entries_max: u32,
        pub acl_egress_counters: u32,
        pub acl_egress_counters_max: u32,
        pub acl_egress_meters: u32,
        pub acl_egress_meters_max: u32,
        pub acl_egress_slices: u32,
        pub acl_egress_slices_max: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:1005 port name.
    pub struct PortName<'a> {
        pub name: &'a [u8],
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2000 host description.
    pub struct HostDescription<'a> {
        pub hostname: &'a [u8],
        pub uuid: [u8; 16],
        pub machine_type: u32,
        pub os_name: u32,
        pub os_release: &'a [u8],
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2105 Java virtual machine identity.
    pub struct JvmId<'a> {
        pub vm_name: &'a [u8],
        pub vm_vendor: &'a [u8],
        pub vm_version: &'a [u8],
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2202 application operation counters.
    pub struct AppCounters<'a> {
        pub application: &'a [u8],
        pub status_ok: u32,
        pub errors_other: u32,
        pub errors_timeout: u32,
        pub errors_internal_error: u32,
        pub errors_bad_request: u32,
        pub errors_forbidden: u32,
        pub errors_too_large: u32,
        pub errors_not_implemented: u32,
        pub errors_not_found: u32,
        pub errors_unavailable: u32,
        pub errors_unauthorized: u32,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:10 SFP/QSFP optical module metrics.
    pub struct SfpCounters<'a> {
        pub module_id: u32,
        pub module_total_lanes: u32,
        pub module_supply_voltage_mv: u32,
        pub module_temperature_millic: i32,
        pub lanes: SfpLanes<'a>,
    }
}

xdr_struct! {
    #[derive(Default)]
    /// 0:2001 host network adapters.
    pub struct HostAdapters<'a> {
        pub adapters: AdapterList<'a>,
    }
}
fixed_list!(
    /// The lanes of an [`SfpCounters`] record.
    SfpLanes, SfpLaneIter, SfpLane, 40, "lane count"
);

fixed_list!(
    /// The MAC addresses of one [`Adapter`] (8 bytes each on the wire: 6 + 2 padding).
    MacList, MacIter, MacAddr, 8, "MAC count"
);

/// One network adapter of a [`HostAdapters`] record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Adapter<'a> {
    /// ifIndex (0 if unknown).
    pub if_index: u32,
    /// The adapter's MAC addresses.
    pub macs: MacList<'a>,
}

impl<'a> Xdr<'a> for Adapter<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        Ok(Self {
            if_index: r.u32()?,
            macs: MacList::decode(r)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.if_index);
        self.macs.encode(out);
    }
}

/// A borrowed, pre-validated list of [`Adapter`]s.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct AdapterList<'a> {
    count: u32,
    raw: &'a [u8],
}

impl<'a> AdapterList<'a> {
    /// Encodes adapters into the raw bytes accepted by [`AdapterList::from_raw`].
    pub fn to_raw(adapters: &[Adapter<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for a in adapters {
            a.encode(&mut out);
        }
        out
    }

    /// Wraps bytes produced by [`AdapterList::to_raw`]; `None` if they are not `count` adapters.
    pub fn from_raw(count: u32, raw: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(raw, 0);
        for _ in 0..count {
            Adapter::decode(&mut r).ok()?;
        }
        r.is_empty().then_some(Self { count, raw })
    }

    /// Number of adapters.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The adapters in wire order.
    pub fn iter(&self) -> impl Iterator<Item = Adapter<'a>> + use<'a> {
        let mut r = Reader::new(self.raw, 0);
        (0..self.count).map_while(move |_| Adapter::decode(&mut r).ok())
    }
}

impl std::fmt::Debug for AdapterList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> Xdr<'a> for AdapterList<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        // An adapter takes at least 8 bytes (ifIndex + MAC count).
        let count = r.length("adapter count", 8)? as u32;
        let start = r.clone();
        for _ in 0..count {
            Adapter::decode(r)?;
        }
        let used = start.remaining() - r.remaining();
        let mut start = start;
        Ok(Self {
            count,
            raw: start.bytes(used)?,
        })
    }
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.count);
        out.extend_from_slice(self.raw);
    }
}

/// 0:2003 host CPU counters. The last three fields were added to the structure after the
/// original host-sFlow spec; agents that send the shorter form decode with `extra: None`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HostCpu {
    /// 1-minute load average.
    pub load_one: f32,
    /// 5-minute load average.
    pub load_five: f32,
    /// 15-minute load average.
    pub load_fifteen: f32,
    /// Running processes / threads.
    pub proc_run: u32,
    /// Total processes / threads.
    pub proc_total: u32,
    /// Number of CPUs.
    pub cpu_num: u32,
    /// CPU speed (MHz).
    pub cpu_speed_mhz: u32,
    /// Uptime (s).
    pub uptime_s: u32,
    /// User time (ms).
    pub cpu_user_ms: u32,
    /// Nice time (ms).
    pub cpu_nice_ms: u32,
    /// System time (ms).
    pub cpu_system_ms: u32,
    /// Idle time (ms).
    pub cpu_idle_ms: u32,
    /// I/O wait time (ms).
    pub cpu_wio_ms: u32,
    /// Interrupt time (ms).
    pub cpu_intr_ms: u32,
    /// Soft interrupt time (ms).
    pub cpu_sintr_ms: u32,
    /// Interrupt count.
    pub interrupts: u32,
    /// Context switch count.
    pub contexts: u32,
    /// Steal / guest times, when present.
    pub extra: Option<HostCpuExtra>,
}

xdr_struct! {
    #[derive(Default)]
    /// Optional tail of [`HostCpu`] (ms).
    pub struct HostCpuExtra {
        /// Time stolen by other virtual machines (ms).
        pub cpu_steal_ms: u32,
        /// Time running guest virtual CPUs (ms).
        pub cpu_guest_ms: u32,
        /// Time running niced guest virtual CPUs (ms).
        pub cpu_guest_nice_ms: u32,
    }
}

impl<'a> Xdr<'a> for HostCpu {
    fn decode(r: &mut Reader<'a>) -> Result<Self, XdrError> {
        let mut cpu = Self {
            load_one: f32::decode(r)?,
            load_five: f32::decode(r)?,
            load_fifteen: f32::decode(r)?,
            proc_run: r.u32()?,
            proc_total: r.u32()?,
            cpu_num: r.u32()?,
            cpu_speed_mhz: r.u32()?,
            uptime_s: r.u32()?,
            cpu_user_ms: r.u32()?,
            cpu_nice_ms: r.u32()?,
            cpu_system_ms: r.u32()?,
            cpu_idle_ms: r.u32()?,
            cpu_wio_ms: r.u32()?,
            cpu_intr_ms: r.u32()?,
            cpu_sintr_ms: r.u32()?,
            interrupts: r.u32()?,
            contexts: r.u32()?,
            extra: None,
        };
        if r.remaining() >= 12 {
            cpu.extra = Some(HostCpuExtra::decode(r)?);
        }
        Ok(cpu)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        for load in [self.load_one, self.load_five, self.load_fifteen] {
            load.encode(out);
        }
        for v in [
            self.proc_run,
            self.proc_total,
            self.cpu_num,
            self.cpu_speed_mhz,
            self.uptime_s,
            self.cpu_user_ms,
            self.cpu_nice_ms,
            self.cpu_system_ms,
            self.cpu_idle_ms,
            self.cpu_wio_ms,
            self.cpu_intr_ms,
            self.cpu_sintr_ms,
            self.interrupts,
            self.contexts,
        ] {
            put_u32(out, v);
        }
        if let Some(extra) = &self.extra {
            extra.encode(out);
        }
    }
}

record_enum! {
    /// A counter record (`counter_data`) of a counter sample.
    pub enum CounterRecord<'a> {
        /// 0:1 generic interface.
        (0, 1) GenericInterface(GenericInterfaceCounters),
        /// 0:2 Ethernet.
        (0, 2) Ethernet(EthernetCounters),
        /// 0:3 token ring.
        (0, 3) TokenRing(TokenRingCounters),
        /// 0:4 100BaseVG.
        (0, 4) Vg100(Vg100Counters),
        /// 0:5 VLAN.
        (0, 5) Vlan(VlanCounters),
        /// 0:6 IEEE 802.11.
        (0, 6) Ieee80211(Ieee80211Counters),
        /// 0:7 LAG port.
        (0, 7) LagPort(LagPortCounters),
        /// 0:10 SFP / optics.
        (0, 10) Sfp(SfpCounters<'a>),
        /// 0:1001 processor.
        (0, 1001) Processor(ProcessorCounters),
        /// 0:1002 radio utilization.
        (0, 1002) Radio(RadioCounters),
        /// 0:1004 OpenFlow port.
        (0, 1004) OpenFlowPort(OpenFlowPort),
        /// 0:1005 port name.
        (0, 1005) PortName(PortName<'a>),
        /// 0:2000 host description.
        (0, 2000) HostDescription(HostDescription<'a>),
        /// 0:2001 host adapters.
        (0, 2001) HostAdapters(HostAdapters<'a>),
        /// 0:2002 host parent.
        (0, 2002) HostParent(HostParent),
        /// 0:2003 host CPU.
        (0, 2003) HostCpu(HostCpu),
        /// 0:2004 host memory.
        (0, 2004) HostMemory(HostMemory),
        /// 0:2005 host disk I/O.
        (0, 2005) HostDiskIo(HostDiskIo),
        /// 0:2006 host network I/O.
        (0, 2006) HostNetIo(HostNetIo),
        /// 0:2007 MIB-II IP.
        (0, 2007) Mib2Ip(Mib2IpGroup),
        /// 0:2008 MIB-II ICMP.
        (0, 2008) Mib2Icmp(Mib2IcmpGroup),
        /// 0:2009 MIB-II TCP.
        (0, 2009) Mib2Tcp(Mib2TcpGroup),
        /// 0:2010 MIB-II UDP.
        (0, 2010) Mib2Udp(Mib2UdpGroup),
        /// 0:2100 virtual node.
        (0, 2100) VirtNode(VirtNode),
        /// 0:2101 virtual CPU.
        (0, 2101) VirtCpu(VirtCpu),
        /// 0:2102 virtual memory.
        (0, 2102) VirtMemory(VirtMemory),
        /// 0:2103 virtual disk I/O.
        (0, 2103) VirtDiskIo(VirtDiskIo),
        /// 0:2104 virtual network I/O.
        (0, 2104) VirtNetIo(HostNetIo),
        /// 0:2105 JVM identity.
        (0, 2105) Jvm(JvmId<'a>),
        /// 0:2106 JMX statistics.
        (0, 2106) Jmx(JmxCounters),
        /// 0:2201 HTTP.
        (0, 2201) Http(HttpCounters),
        /// 0:2202 application counters.
        (0, 2202) App(AppCounters<'a>),
        /// 0:2203 application resources.
        (0, 2203) AppResources(AppResources),
        /// 0:2204 memcache.
        (0, 2204) Memcache(MemcacheCounters),
        /// 0:2205 VDI.
        (0, 2205) Vdi(VdiCounters),
        /// 0:2206 application workers.
        (0, 2206) AppWorkers(AppWorkers),
        /// 4413:3 Broadcom ASIC tables.
        (4413, 3) BroadcomTables(BroadcomTables),
        /// 5703:1 NVIDIA GPU.
        (5703, 1) NvidiaGpu(NvidiaGpuCounters),
    }
}

/// Iterator over the counter records of a counter sample.
#[derive(Debug, Clone)]
pub struct CounterRecords<'a> {
    pub(crate) inner: Records<'a, CounterRecord<'a>>,
}

impl<'a> Iterator for CounterRecords<'a> {
    type Item = Result<CounterRecord<'a>, crate::error::DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
