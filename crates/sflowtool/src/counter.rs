//! Counter records with sflowtool's field names and order (`readCountersSample` and the
//! `readCounters_*` functions).

use rtflow_sflow::{CounterRecord, GenericInterfaceCounters, HostCpu, SfpCounters};

use crate::datagram::skipping;
use crate::out::{Out, StyleKind};
use crate::values::{push_fixed, push_hex_lower, push_u32};

pub(crate) fn record<S: StyleKind>(o: &mut Out<'_, S>, record: &CounterRecord<'_>) {
    o.grep.element_tag = record.tag();
    o.tag("counterBlock_tag", record.tag());
    body(o, record);
}

/// The block's fields after its `counterBlock_tag` line (sFlow v2/v4 blocks have no tag line).
pub(crate) fn body<S: StyleKind>(o: &mut Out<'_, S>, record: &CounterRecord<'_>) {
    match record {
        CounterRecord::GenericInterface(c) => generic(o, c),
        CounterRecord::Ethernet(c) => {
            o.u32("dot3StatsAlignmentErrors", c.dot3_stats_alignment_errors);
            o.u32("dot3StatsFCSErrors", c.dot3_stats_fcs_errors);
            o.u32(
                "dot3StatsSingleCollisionFrames",
                c.dot3_stats_single_collision_frames,
            );
            o.u32(
                "dot3StatsMultipleCollisionFrames",
                c.dot3_stats_multiple_collision_frames,
            );
            o.u32("dot3StatsSQETestErrors", c.dot3_stats_sqe_test_errors);
            o.u32(
                "dot3StatsDeferredTransmissions",
                c.dot3_stats_deferred_transmissions,
            );
            o.u32("dot3StatsLateCollisions", c.dot3_stats_late_collisions);
            o.u32(
                "dot3StatsExcessiveCollisions",
                c.dot3_stats_excessive_collisions,
            );
            o.u32(
                "dot3StatsInternalMacTransmitErrors",
                c.dot3_stats_internal_mac_transmit_errors,
            );
            o.u32(
                "dot3StatsCarrierSenseErrors",
                c.dot3_stats_carrier_sense_errors,
            );
            o.u32("dot3StatsFrameTooLongs", c.dot3_stats_frame_too_longs);
            o.u32(
                "dot3StatsInternalMacReceiveErrors",
                c.dot3_stats_internal_mac_receive_errors,
            );
            o.u32("dot3StatsSymbolErrors", c.dot3_stats_symbol_errors);
        }
        CounterRecord::TokenRing(c) => {
            o.u32("dot5StatsLineErrors", c.dot5_stats_line_errors);
            o.u32("dot5StatsBurstErrors", c.dot5_stats_burst_errors);
            o.u32("dot5StatsACErrors", c.dot5_stats_ac_errors);
            o.u32("dot5StatsAbortTransErrors", c.dot5_stats_abort_trans_errors);
            o.u32("dot5StatsInternalErrors", c.dot5_stats_internal_errors);
            o.u32("dot5StatsLostFrameErrors", c.dot5_stats_lost_frame_errors);
            o.u32(
                "dot5StatsReceiveCongestions",
                c.dot5_stats_receive_congestions,
            );
            o.u32(
                "dot5StatsFrameCopiedErrors",
                c.dot5_stats_frame_copied_errors,
            );
            o.u32("dot5StatsTokenErrors", c.dot5_stats_token_errors);
            o.u32("dot5StatsSoftErrors", c.dot5_stats_soft_errors);
            o.u32("dot5StatsHardErrors", c.dot5_stats_hard_errors);
            o.u32("dot5StatsSignalLoss", c.dot5_stats_signal_loss);
            o.u32("dot5StatsTransmitBeacons", c.dot5_stats_transmit_beacons);
            o.u32("dot5StatsRecoverys", c.dot5_stats_recoverys);
            o.u32("dot5StatsLobeWires", c.dot5_stats_lobe_wires);
            o.u32("dot5StatsRemoves", c.dot5_stats_removes);
            o.u32("dot5StatsSingles", c.dot5_stats_singles);
            o.u32("dot5StatsFreqErrors", c.dot5_stats_freq_errors);
        }
        CounterRecord::Vg100(c) => {
            o.u32("dot12InHighPriorityFrames", c.dot12_in_high_priority_frames);
            o.u64("dot12InHighPriorityOctets", c.dot12_in_high_priority_octets);
            o.u32("dot12InNormPriorityFrames", c.dot12_in_norm_priority_frames);
            o.u64("dot12InNormPriorityOctets", c.dot12_in_norm_priority_octets);
            o.u32("dot12InIPMErrors", c.dot12_in_ipm_errors);
            o.u32(
                "dot12InOversizeFrameErrors",
                c.dot12_in_oversize_frame_errors,
            );
            o.u32("dot12InDataErrors", c.dot12_in_data_errors);
            o.u32(
                "dot12InNullAddressedFrames",
                c.dot12_in_null_addressed_frames,
            );
            o.u32(
                "dot12OutHighPriorityFrames",
                c.dot12_out_high_priority_frames,
            );
            o.u64(
                "dot12OutHighPriorityOctets",
                c.dot12_out_high_priority_octets,
            );
            o.u32(
                "dot12TransitionIntoTrainings",
                c.dot12_transition_into_trainings,
            );
            o.u64(
                "dot12HCInHighPriorityOctets",
                c.dot12_hc_in_high_priority_octets,
            );
            o.u64(
                "dot12HCInNormPriorityOctets",
                c.dot12_hc_in_norm_priority_octets,
            );
            o.u64(
                "dot12HCOutHighPriorityOctets",
                c.dot12_hc_out_high_priority_octets,
            );
        }
        CounterRecord::Vlan(c) => {
            o.u32("in_vlan", c.vlan_id);
            o.u64("octets", c.octets);
            o.u32("ucastPkts", c.ucast_pkts);
            o.u32("multicastPkts", c.multicast_pkts);
            o.u32("broadcastPkts", c.broadcast_pkts);
            o.u32("discards", c.discards);
        }
        CounterRecord::Ieee80211(c) => {
            o.u32(
                "dot11TransmittedFragmentCount",
                c.dot11_transmitted_fragment_count,
            );
            o.u32(
                "dot11MulticastTransmittedFrameCount",
                c.dot11_multicast_transmitted_frame_count,
            );
            o.u32("dot11FailedCount", c.dot11_failed_count);
            o.u32("dot11RetryCount", c.dot11_retry_count);
            o.u32("dot11MultipleRetryCount", c.dot11_multiple_retry_count);
            o.u32("dot11FrameDuplicateCount", c.dot11_frame_duplicate_count);
            o.u32("dot11RTSSuccessCount", c.dot11_rts_success_count);
            o.u32("dot11RTSFailureCount", c.dot11_rts_failure_count);
            o.u32("dot11ACKFailureCount", c.dot11_ack_failure_count);
            o.u32(
                "dot11ReceivedFragmentCount",
                c.dot11_received_fragment_count,
            );
            o.u32(
                "dot11MulticastReceivedFrameCount",
                c.dot11_multicast_received_frame_count,
            );
            o.u32("dot11FCSErrorCount", c.dot11_fcs_error_count);
            o.u32(
                "dot11TransmittedFrameCount",
                c.dot11_transmitted_frame_count,
            );
            o.u32(
                "dot11WEPUndecryptableCount",
                c.dot11_wep_undecryptable_count,
            );
            o.u32(
                "dot11QoSDiscardedFragmentCount",
                c.dot11_qos_discarded_fragment_count,
            );
            o.u32(
                "dot11AssociatedStationCount",
                c.dot11_associated_station_count,
            );
            o.u32(
                "dot11QoSCFPollsReceivedCount",
                c.dot11_qos_cf_polls_received_count,
            );
            o.u32(
                "dot11QoSCFPollsUnusedCount",
                c.dot11_qos_cf_polls_unused_count,
            );
            o.u32(
                "dot11QoSCFPollsUnusableCount",
                c.dot11_qos_cf_polls_unusable_count,
            );
            o.u32("dot11QoSCFPollsLostCount", c.dot11_qos_cf_polls_lost_count);
        }
        CounterRecord::LagPort(c) => {
            o.mac("actorSystemID", &c.actor_system_id);
            o.mac("partnerSystemID", &c.partner_system_id);
            o.u32("attachedAggID", c.attached_agg_id);
            // The port state word holds four one-byte states in wire order.
            let [actor_admin, actor_oper, partner_admin, partner_oper] = c.port_state.to_be_bytes();
            o.u32("actorAdminPortState", u32::from(actor_admin));
            o.u32("actorOperPortState", u32::from(actor_oper));
            o.u32("partnerAdminPortState", u32::from(partner_admin));
            o.u32("partnerOperPortState", u32::from(partner_oper));
            o.u32("LACPDUsRx", c.lacpdus_rx);
            o.u32("markerPDUsRx", c.marker_pdus_rx);
            o.u32("markerResponsePDUsRx", c.marker_response_pdus_rx);
            o.u32("unknownRx", c.unknown_rx);
            o.u32("illegalRx", c.illegal_rx);
            o.u32("LACPDUsTx", c.lacpdus_tx);
            o.u32("markerPDUsTx", c.marker_pdus_tx);
            o.u32("markerResponsePDUsTx", c.marker_response_pdus_tx);
        }
        CounterRecord::Sfp(c) => sfp(o, c),
        CounterRecord::Processor(c) => {
            percentage(o, "5s_cpu", c.five_sec_cpu);
            percentage(o, "1m_cpu", c.one_min_cpu);
            percentage(o, "5m_cpu", c.five_min_cpu);
            o.u64("total_memory_bytes", c.total_memory);
            o.u64("free_memory_bytes", c.free_memory);
        }
        CounterRecord::Radio(c) => {
            o.u32("radio_elapsed_time", c.elapsed_time_ms);
            o.u32("radio_on_channel_time", c.on_channel_time_ms);
            o.u32("radio_on_channel_busy_time", c.on_channel_busy_time_ms);
        }
        CounterRecord::OpenFlowPort(c) => {
            o.with("openflow_datapath_id", |b| {
                push_hex_lower(b, &c.datapath_id.to_be_bytes());
            });
            o.u32("openflow_port", c.port_no);
        }
        CounterRecord::PortName(p) => o.bytes_if_any("ifName", p.name),
        CounterRecord::HostDescription(h) => {
            o.bytes_if_any("hostname", h.hostname);
            o.with("UUID", |b| {
                let u = &h.uuid;
                for (i, range) in [0..4, 4..6, 6..8, 8..10, 10..16].into_iter().enumerate() {
                    if i > 0 {
                        b.push(b'-');
                    }
                    push_hex_lower(b, u.get(range).unwrap_or_default());
                }
            });
            o.u32("machine_type", h.machine_type);
            o.u32("os_name", h.os_name);
            o.bytes_if_any("os_release", h.os_release);
        }
        CounterRecord::HostAdapters(a) => adapters(o, a),
        CounterRecord::HostParent(p) => {
            o.u32("parent_dsClass", p.container_type);
            o.u32("parent_dsIndex", p.container_index);
        }
        CounterRecord::HostCpu(c) => host_cpu(o, c),
        CounterRecord::HostMemory(m) => {
            o.u64("mem_total", m.mem_total);
            o.u64("mem_free", m.mem_free);
            o.u64("mem_shared", m.mem_shared);
            o.u64("mem_buffers", m.mem_buffers);
            o.u64("mem_cached", m.mem_cached);
            o.u64("swap_total", m.swap_total);
            o.u64("swap_free", m.swap_free);
            o.u32("page_in", m.page_in);
            o.u32("page_out", m.page_out);
            o.u32("swap_in", m.swap_in);
            o.u32("swap_out", m.swap_out);
        }
        CounterRecord::HostDiskIo(d) => {
            o.u64("disk_total", d.disk_total);
            o.u64("disk_free", d.disk_free);
            percentage(o, "disk_partition_max_used", d.part_max_used);
            o.u32("disk_reads", d.reads);
            o.u64("disk_bytes_read", d.bytes_read);
            o.u32("disk_read_time", d.read_time_ms);
            o.u32("disk_writes", d.writes);
            o.u64("disk_bytes_written", d.bytes_written);
            o.u32("disk_write_time", d.write_time_ms);
        }
        CounterRecord::HostNetIo(n) => net_io(o, "nio_", n),
        CounterRecord::VirtNetIo(n) => net_io(o, "vnio_", n),
        CounterRecord::Mib2Ip(c) => {
            o.u32("ipForwarding", c.ip_forwarding);
            o.u32("ipDefaultTTL", c.ip_default_ttl);
            o.u32("ipInReceives", c.ip_in_receives);
            o.u32("ipInHdrErrors", c.ip_in_hdr_errors);
            o.u32("ipInAddrErrors", c.ip_in_addr_errors);
            o.u32("ipForwDatagrams", c.ip_forw_datagrams);
            o.u32("ipInUnknownProtos", c.ip_in_unknown_protos);
            o.u32("ipInDiscards", c.ip_in_discards);
            o.u32("ipInDelivers", c.ip_in_delivers);
            o.u32("ipOutRequests", c.ip_out_requests);
            o.u32("ipOutDiscards", c.ip_out_discards);
            o.u32("ipOutNoRoutes", c.ip_out_no_routes);
            o.u32("ipReasmTimeout", c.ip_reasm_timeout);
            o.u32("ipReasmReqds", c.ip_reasm_reqds);
            o.u32("ipReasmOKs", c.ip_reasm_oks);
            o.u32("ipReasmFails", c.ip_reasm_fails);
            o.u32("ipFragOKs", c.ip_frag_oks);
            o.u32("ipFragFails", c.ip_frag_fails);
            o.u32("ipFragCreates", c.ip_frag_creates);
        }
        CounterRecord::Mib2Icmp(c) => {
            o.u32("icmpInMsgs", c.icmp_in_msgs);
            o.u32("icmpInErrors", c.icmp_in_errors);
            o.u32("icmpInDestUnreachs", c.icmp_in_dest_unreachs);
            o.u32("icmpInTimeExcds", c.icmp_in_time_excds);
            o.u32("icmpInParamProbs", c.icmp_in_param_probs);
            o.u32("icmpInSrcQuenchs", c.icmp_in_src_quenchs);
            o.u32("icmpInRedirects", c.icmp_in_redirects);
            o.u32("icmpInEchos", c.icmp_in_echos);
            o.u32("icmpInEchoReps", c.icmp_in_echo_reps);
            o.u32("icmpInTimestamps", c.icmp_in_timestamps);
            o.u32("icmpInAddrMasks", c.icmp_in_addr_masks);
            o.u32("icmpInAddrMaskReps", c.icmp_in_addr_mask_reps);
            o.u32("icmpOutMsgs", c.icmp_out_msgs);
            o.u32("icmpOutErrors", c.icmp_out_errors);
            o.u32("icmpOutDestUnreachs", c.icmp_out_dest_unreachs);
            o.u32("icmpOutTimeExcds", c.icmp_out_time_excds);
            o.u32("icmpOutParamProbs", c.icmp_out_param_probs);
            o.u32("icmpOutSrcQuenchs", c.icmp_out_src_quenchs);
            o.u32("icmpOutRedirects", c.icmp_out_redirects);
            o.u32("icmpOutEchos", c.icmp_out_echos);
            o.u32("icmpOutEchoReps", c.icmp_out_echo_reps);
            o.u32("icmpOutTimestamps", c.icmp_out_timestamps);
            o.u32("icmpOutTimestampReps", c.icmp_out_timestamp_reps);
            o.u32("icmpOutAddrMasks", c.icmp_out_addr_masks);
            o.u32("icmpOutAddrMaskReps", c.icmp_out_addr_mask_reps);
        }
        CounterRecord::Mib2Tcp(c) => {
            o.u32("tcpRtoAlgorithm", c.tcp_rto_algorithm);
            o.u32("tcpRtoMin", c.tcp_rto_min);
            o.u32("tcpRtoMax", c.tcp_rto_max);
            o.u32("tcpMaxConn", c.tcp_max_conn);
            o.u32("tcpActiveOpens", c.tcp_active_opens);
            o.u32("tcpPassiveOpens", c.tcp_passive_opens);
            o.u32("tcpAttemptFails", c.tcp_attempt_fails);
            o.u32("tcpEstabResets", c.tcp_estab_resets);
            o.u32("tcpCurrEstab", c.tcp_curr_estab);
            o.u32("tcpInSegs", c.tcp_in_segs);
            o.u32("tcpOutSegs", c.tcp_out_segs);
            o.u32("tcpRetransSegs", c.tcp_retrans_segs);
            o.u32("tcpInErrs", c.tcp_in_errs);
            o.u32("tcpOutRsts", c.tcp_out_rsts);
            o.u32("tcpInCsumErrors", c.tcp_in_csum_errors);
        }
        CounterRecord::Mib2Udp(c) => {
            o.u32("udpInDatagrams", c.udp_in_datagrams);
            o.u32("udpNoPorts", c.udp_no_ports);
            o.u32("udpInErrors", c.udp_in_errors);
            o.u32("udpOutDatagrams", c.udp_out_datagrams);
            o.u32("udpRcvbufErrors", c.udp_rcvbuf_errors);
            o.u32("udpSndbufErrors", c.udp_sndbuf_errors);
            o.u32("udpInCsumErrors", c.udp_in_csum_errors);
        }
        CounterRecord::VirtNode(c) => {
            o.u32("vnode_mhz", c.mhz);
            o.u32("vnode_cpus", c.cpus);
            o.u64("vnode_memory", c.memory);
            o.u64("vnode_memory_free", c.memory_free);
            o.u32("vnode_num_domains", c.num_domains);
        }
        CounterRecord::VirtCpu(c) => {
            o.u32("vcpu_state", c.state);
            o.u32("vcpu_cpu_mS", c.cpu_time_ms);
            o.u32("vcpu_cpuCount", c.nr_virt_cpu);
        }
        CounterRecord::VirtMemory(c) => {
            o.u64("vmem_memory", c.memory);
            o.u64("vmem_maxMemory", c.max_memory);
        }
        CounterRecord::VirtDiskIo(c) => {
            o.u64("vdsk_capacity", c.capacity);
            o.u64("vdsk_allocation", c.allocation);
            o.u64("vdsk_available", c.available);
            o.u32("vdsk_rd_req", c.rd_req);
            o.u64("vdsk_rd_bytes", c.rd_bytes);
            o.u32("vdsk_wr_req", c.wr_req);
            o.u64("vdsk_wr_bytes", c.wr_bytes);
            o.u32("vdsk_errs", c.errs);
        }
        CounterRecord::Jvm(j) => {
            o.bytes_if_any("jvm_name", j.vm_name);
            o.bytes_if_any("jvm_vendor", j.vm_vendor);
            o.bytes_if_any("jvm_version", j.vm_version);
        }
        CounterRecord::Jmx(j) => {
            o.u64("heap_mem_initial", j.heap_initial);
            o.u64("heap_mem_used", j.heap_used);
            o.u64("heap_mem_committed", j.heap_committed);
            o.u64("heap_mem_max", j.heap_max);
            o.u64("non_heap_mem_initial", j.non_heap_initial);
            o.u64("non_heap_mem_used", j.non_heap_used);
            o.u64("non_heap_mem_committed", j.non_heap_committed);
            o.u64("non_heap_mem_max", j.non_heap_max);
            o.u32("gc_count", j.gc_count);
            o.u32("gc_mS", j.gc_time_ms);
            o.u32("classes_loaded", j.classes_loaded);
            o.u32("classes_total", j.classes_total);
            o.u32("classes_unloaded", j.classes_unloaded);
            o.u32("compilation_mS", j.compilation_time_ms);
            o.u32("threads_live", j.threads_live);
            o.u32("threads_daemon", j.threads_daemon);
            o.u32("threads_started", j.threads_started);
            o.u32("fds_open", j.fds_open);
            o.u32("fds_max", j.fds_max);
        }
        CounterRecord::Http(h) => {
            o.u32("http_method_option_count", h.method_option_count);
            o.u32("http_method_get_count", h.method_get_count);
            o.u32("http_method_head_count", h.method_head_count);
            o.u32("http_method_post_count", h.method_post_count);
            o.u32("http_method_put_count", h.method_put_count);
            o.u32("http_method_delete_count", h.method_delete_count);
            o.u32("http_method_trace_count", h.method_trace_count);
            // sflowtool's spelling.
            o.u32("http_methd_connect_count", h.method_connect_count);
            o.u32("http_method_other_count", h.method_other_count);
            o.u32("http_status_1XX_count", h.status_1xx_count);
            o.u32("http_status_2XX_count", h.status_2xx_count);
            o.u32("http_status_3XX_count", h.status_3xx_count);
            o.u32("http_status_4XX_count", h.status_4xx_count);
            o.u32("http_status_5XX_count", h.status_5xx_count);
            o.u32("http_status_other_count", h.status_other_count);
        }
        CounterRecord::App(a) => {
            o.bytes_if_any("application", a.application);
            o.u32("status_OK", a.status_ok);
            o.u32("errors_OTHER", a.errors_other);
            o.u32("errors_TIMEOUT", a.errors_timeout);
            o.u32("errors_INTERNAL_ERROR", a.errors_internal_error);
            o.u32("errors_BAD_REQUEST", a.errors_bad_request);
            o.u32("errors_FORBIDDEN", a.errors_forbidden);
            o.u32("errors_TOO_LARGE", a.errors_too_large);
            o.u32("errors_NOT_IMPLEMENTED", a.errors_not_implemented);
            o.u32("errors_NOT_FOUND", a.errors_not_found);
            o.u32("errors_UNAVAILABLE", a.errors_unavailable);
            o.u32("errors_UNAUTHORIZED", a.errors_unauthorized);
        }
        CounterRecord::AppResources(a) => {
            o.u32("user_time", a.user_time_ms);
            o.u32("system_time", a.system_time_ms);
            o.u64("memory_used", a.mem_used);
            o.u64("memory_max", a.mem_max);
            o.u32("files_open", a.fd_open);
            o.u32("files_max", a.fd_max);
            o.u32("connections_open", a.conn_open);
            o.u32("connections_max", a.conn_max);
        }
        CounterRecord::Memcache(m) => {
            o.u32("memcache_cmd_set", m.cmd_set);
            o.u32("memcache_cmd_touch", m.cmd_touch);
            o.u32("memcache_cmd_flush", m.cmd_flush);
            o.u32("memcache_get_hits", m.get_hits);
            o.u32("memcache_get_misses", m.get_misses);
            o.u32("memcache_delete_hits", m.delete_hits);
            o.u32("memcache_delete_misses", m.delete_misses);
            o.u32("memcache_incr_hits", m.incr_hits);
            o.u32("memcache_incr_misses", m.incr_misses);
            o.u32("memcache_decr_hits", m.decr_hits);
            o.u32("memcache_decr_misses", m.decr_misses);
            o.u32("memcache_cas_hits", m.cas_hits);
            o.u32("memcache_cas_misses", m.cas_misses);
            o.u32("memcache_cas_badval", m.cas_badval);
            o.u32("memcache_auth_cmds", m.auth_cmds);
            o.u32("memcache_auth_errors", m.auth_errors);
            o.u32("memcache_threads", m.threads);
            o.u32("memcache_conn_yields", m.conn_yields);
            o.u32("memcache_listen_disabled_num", m.listen_disabled_num);
            o.u32("memcache_curr_connections", m.curr_connections);
            o.u32("memcache_rejected_connections", m.rejected_connections);
            o.u32("memcache_total_connections", m.total_connections);
            o.u32("memcache_connection_structures", m.connection_structures);
            o.u32("memcache_evictions", m.evictions);
            o.u32("memcache_reclaimed", m.reclaimed);
            o.u32("memcache_curr_items", m.curr_items);
            o.u32("memcache_total_items", m.total_items);
            o.u64("memcache_bytes_read", m.bytes_read);
            o.u64("memcache_bytes_written", m.bytes_written);
            o.u64("memcache_bytes", m.bytes);
            o.u64("memcache_limit_maxbytes", m.limit_maxbytes);
        }
        CounterRecord::Vdi(v) => {
            o.u32("vdi_sessions_current", v.sessions_current);
            o.u32("vdi_sessions_total", v.sessions_total);
            o.u32("vdi_sessions_duration", v.sessions_duration);
            o.u32("vdi_rx_bytes", v.rx_bytes);
            o.u32("vdi_tx_bytes", v.tx_bytes);
            o.u32("vdi_rx_packets", v.rx_packets);
            o.u32("vdi_tx_packets", v.tx_packets);
            o.u32("vdi_rx_packets_lost", v.rx_packets_lost);
            o.u32("vdi_tx_packets_lost", v.tx_packets_lost);
            o.u32("vdi_rtt_min_ms", v.rtt_min_ms);
            o.u32("vdi_rtt_max_ms", v.rtt_max_ms);
            o.u32("vdi_rtt_avg_ms", v.rtt_avg_ms);
            o.u32("vdi_audio_rx_bytes", v.audio_rx_bytes);
            o.u32("vdi_audio_tx_bytes", v.audio_tx_bytes);
            o.u32("vdi_audio_tx_limit", v.audio_tx_limit);
            o.u32("vdi_img_rx_bytes", v.img_rx_bytes);
            o.u32("vdi_img_tx_bytes", v.img_tx_bytes);
            o.u32("vdi_img_frames", v.img_frames);
            o.u32("vdi_img_qual_min", v.img_qual_min);
            o.u32("vdi_img_qual_max", v.img_qual_max);
            o.u32("vdi_img_qual_avg", v.img_qual_avg);
            o.u32("vdi_usb_rx_bytes", v.usb_rx_bytes);
            o.u32("vdi_usb_tx_bytes", v.usb_tx_bytes);
        }
        CounterRecord::AppWorkers(w) => {
            o.u32("workers_active", w.workers_active);
            o.u32("workers_idle", w.workers_idle);
            o.u32("workers_max", w.workers_max);
            o.u32("requests_delayed", w.req_delayed);
            o.u32("requests_dropped", w.req_dropped);
        }
        CounterRecord::BroadcomTables(t) => {
            let values = [
                ("bcm_asic_host_entries", t.host_entries),
                ("bcm_host_entries_max", t.host_entries_max),
                ("bcm_ipv4_entries", t.ipv4_entries),
                ("bcm_ipv4_entries_max", t.ipv4_entries_max),
                ("bcm_ipv6_entries", t.ipv6_entries),
                ("bcm_ipv6_entries_max", t.ipv6_entries_max),
                ("bcm_ipv4_ipv6_entries", t.ipv4_ipv6_entries),
                ("bcm_ipv4_ipv6_entries_max", t.ipv4_ipv6_entries_max),
                ("bcm_long_ipv6_entries", t.long_ipv6_entries),
                ("bcm_long_ipv6_entries_max", t.long_ipv6_entries_max),
                ("bcm_total_routes", t.total_routes),
                ("bcm_total_routes_max", t.total_routes_max),
                ("bcm_ecmp_nexthops", t.ecmp_nexthops),
                ("bcm_ecmp_nexthops_max", t.ecmp_nexthops_max),
                ("bcm_mac_entries", t.mac_entries),
                ("bcm_mac_entries_max", t.mac_entries_max),
                ("bcm_ipv4_neighbors", t.ipv4_neighbors),
                ("bcm_ipv6_neighbors", t.ipv6_neighbors),
                ("bcm_ipv4_routes", t.ipv4_routes),
                ("bcm_ipv6_routes", t.ipv6_routes),
                ("bcm_acl_ingress_entries", t.acl_ingress_entries),
                ("bcm_acl_ingress_entries_max", t.acl_ingress_entries_max),
                ("bcm_acl_ingress_counters", t.acl_ingress_counters),
                ("bcm_acl_ingress_counters_max", t.acl_ingress_counters_max),
                ("bcm_acl_ingress_meters", t.acl_ingress_meters),
                ("bcm_acl_ingress_meters_max", t.acl_ingress_meters_max),
                ("bcm_acl_ingress_slices", t.acl_ingress_slices),
                ("bcm_acl_ingress_slices_max", t.acl_ingress_slices_max),
                ("bcm_acl_egress_entries", t.acl_egress_entries),
                ("bcm_acl_egress_entries_max", t.acl_egress_entries_max),
                ("bcm_acl_egress_counters", t.acl_egress_counters),
                ("bcm_acl_egress_counters_max", t.acl_egress_counters_max),
                ("bcm_acl_egress_meters", t.acl_egress_meters),
                ("bcm_acl_egress_meters_max", t.acl_egress_meters_max),
                ("bcm_acl_egress_slices", t.acl_egress_slices),
                ("bcm_acl_egress_slices_max", t.acl_egress_slices_max),
            ];
            for (name, v) in values {
                o.u32(name, v);
            }
        }
        CounterRecord::NvidiaGpu(g) => {
            o.u32("nvml_device_count", g.device_count);
            o.u32("nvml_processes", g.processes);
            o.u32("nvml_gpu_mS", g.gpu_time_ms);
            o.u32("nvml_mem_mS", g.mem_time_ms);
            o.u64("nvml_mem_bytes_total", g.mem_total);
            o.u64("nvml_mem_bytes_free", g.mem_free);
            o.u32("nvml_ecc_errors", g.ecc_errors);
            o.u32("nvml_energy_mJ", g.energy_mj);
            o.u32("nvml_temperature_C", g.temperature_c);
            o.u32("nvml_fan_speed_pc", g.fan_speed_percent);
        }
        CounterRecord::Unknown(opaque) => {
            skipping(o, "counters_sample_element", opaque.tag, opaque.data.len());
        }
        _ => skipping(o, "counters_sample_element", record.tag(), 0),
    }
}

pub(crate) fn generic<S: StyleKind>(o: &mut Out<'_, S>, c: &GenericInterfaceCounters) {
    o.u32("ifIndex", c.if_index);
    o.u32("networkType", c.if_type);
    o.u64("ifSpeed", c.if_speed);
    o.u32("ifDirection", c.if_direction);
    o.u32("ifStatus", c.if_status);
    o.u64("ifInOctets", c.if_in_octets);
    o.u32("ifInUcastPkts", c.if_in_ucast_pkts);
    o.u32("ifInMulticastPkts", c.if_in_multicast_pkts);
    o.u32("ifInBroadcastPkts", c.if_in_broadcast_pkts);
    o.u32("ifInDiscards", c.if_in_discards);
    o.u32("ifInErrors", c.if_in_errors);
    o.u32("ifInUnknownProtos", c.if_in_unknown_protos);
    o.u64("ifOutOctets", c.if_out_octets);
    o.u32("ifOutUcastPkts", c.if_out_ucast_pkts);
    o.u32("ifOutMulticastPkts", c.if_out_multicast_pkts);
    o.u32("ifOutBroadcastPkts", c.if_out_broadcast_pkts);
    o.u32("ifOutDiscards", c.if_out_discards);
    o.u32("ifOutErrors", c.if_out_errors);
    o.u32("ifPromiscuousMode", c.if_promiscuous_mode);
}

/// Hundredths of a percent as `%.2f`, `unknown` for -1 (`sf_log_percentage`).
fn percentage<S: StyleKind>(o: &mut Out<'_, S>, name: &str, hundredths: u32) {
    if hundredths == u32::MAX {
        o.text(name, "unknown");
    } else {
        // sflowtool divides in single precision.
        let percent = hundredths as f32 / 100.0f32;
        o.with(name, |b| push_fixed(b, f64::from(percent), 2));
    }
}

fn float3<S: StyleKind>(o: &mut Out<'_, S>, name: &str, v: f32) {
    o.with(name, |b| push_fixed(b, f64::from(v), 3));
}

fn host_cpu<S: StyleKind>(o: &mut Out<'_, S>, c: &HostCpu) {
    float3(o, "cpu_load_one", c.load_one);
    float3(o, "cpu_load_five", c.load_five);
    float3(o, "cpu_load_fifteen", c.load_fifteen);
    o.u32("cpu_proc_run", c.proc_run);
    o.u32("cpu_proc_total", c.proc_total);
    o.u32("cpu_num", c.cpu_num);
    o.u32("cpu_speed", c.cpu_speed_mhz);
    o.u32("cpu_uptime", c.uptime_s);
    o.u32("cpu_user", c.cpu_user_ms);
    o.u32("cpu_nice", c.cpu_nice_ms);
    o.u32("cpu_system", c.cpu_system_ms);
    o.u32("cpu_idle", c.cpu_idle_ms);
    o.u32("cpu_wio", c.cpu_wio_ms);
    o.u32("cpuintr", c.cpu_intr_ms);
    o.u32("cpu_sintr", c.cpu_sintr_ms);
    o.u32("cpuinterrupts", c.interrupts);
    o.u32("cpu_contexts", c.contexts);
    if let Some(extra) = &c.extra {
        o.u32("cpu_steal", extra.cpu_steal_ms);
        o.u32("cpu_guest", extra.cpu_guest_ms);
        o.u32("cpu_guest_nice", extra.cpu_guest_nice_ms);
    }
}

fn net_io<S: StyleKind>(o: &mut Out<'_, S>, prefix: &'static str, n: &rtflow_sflow::HostNetIo) {
    o.prefix2 = prefix;
    o.u64("bytes_in", n.bytes_in);
    o.u32("pkts_in", n.pkts_in);
    o.u32("errs_in", n.errs_in);
    o.u32("drops_in", n.drops_in);
    o.u64("bytes_out", n.bytes_out);
    o.u32("pkts_out", n.pkts_out);
    o.u32("errs_out", n.errs_out);
    o.u32("drops_out", n.drops_out);
    o.prefix2 = "";
}

/// JSON: `adaptor_list` of objects with a `mac_list` array; text: `adaptor_N_ifIndex`,
/// `adaptor_N_MACs`, `adaptor_N_MAC_M` (sflowtool's two forms).
fn adapters<S: StyleKind>(o: &mut Out<'_, S>, a: &rtflow_sflow::HostAdapters<'_>) {
    if o.is_json() {
        o.begin_array("adaptor_list");
        for adapter in a.adapters.iter() {
            o.begin_object(None);
            o.u32("ifIndex", adapter.if_index);
            o.u32("MACs", adapter.macs.len() as u32);
            o.begin_array("mac_list");
            for mac in adapter.macs.iter() {
                o.element(|b| push_hex_lower(b, &mac.0));
            }
            o.end_array();
            o.end_object();
        }
        o.end_array();
        return;
    }
    for (i, adapter) in a.adapters.iter().enumerate() {
        let prefix = format!("adaptor_{i}_");
        o.u32(&format!("{prefix}ifIndex"), adapter.if_index);
        o.u32(&format!("{prefix}MACs"), adapter.macs.len() as u32);
        for (j, mac) in adapter.macs.iter().enumerate() {
            o.with(&format!("{prefix}MAC_{j}"), |b| push_hex_lower(b, &mac.0));
        }
    }
}

/// SFP module counters; lanes as a `sfp_lanes` JSON array, or `sfp_lane_<field>.<lane>` lines.
fn sfp<S: StyleKind>(o: &mut Out<'_, S>, c: &SfpCounters<'_>) {
    o.u32("sfp_module_id", c.module_id);
    o.u32("sfp_module_total_lanes", c.module_total_lanes);
    o.u32("sfp_module_supply_voltage", c.module_supply_voltage_mv);
    // sflowtool prints the (signed) temperature with %u.
    o.u32("sfp_module_temperature", c.module_temperature_millic as u32);
    o.u32("sfp_module_active_lanes", c.lanes.len() as u32);
    let json = o.is_json();
    if json {
        o.begin_array("sfp_lanes");
    }
    for (n, lane) in c.lanes.iter().enumerate() {
        let fields = [
            ("index", lane.lane_index),
            ("tx_bias_current_uA", lane.tx_bias_current),
            ("tx_power_uW", lane.tx_power),
            ("tx_power_min_uW", lane.tx_power_min),
            ("tx_power_max_uW", lane.tx_power_max),
            ("tx_wavelength_nM", lane.tx_wavelength),
            ("rx_power_uW", lane.rx_power),
            ("rx_power_min_uW", lane.rx_power_min),
            ("rx_power_max_uW", lane.rx_power_max),
            ("rx_wavelength_nM", lane.rx_wavelength),
        ];
        if json {
            o.begin_object(None);
            for (name, v) in fields {
                o.u32(name, v);
            }
            o.end_object();
        } else {
            o.prefix2 = "sfp_lane_";
            for (name, v) in fields {
                o.with_suffix(name, n as u32, |b| push_u32(b, v));
            }
            o.prefix2 = "";
        }
    }
    if json {
        o.end_array();
    }
}
