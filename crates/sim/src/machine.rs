//! What hsflowd reports about the machine it runs on (a Linux server, or a switch's control
//! plane): host_descr, host_adapters, CPU, memory, disk I/O. Values drift slowly and their
//! counters only ever grow, as on a real machine.

use rtflow_sflow::{
    Adapter, AdapterList, CounterRecord, HostCpu, HostCpuExtra, HostDescription, HostDiskIo,
    HostMemory, HostNetIo, MacAddr, MacList,
};

use crate::rng::Rng;

/// Host sFlow `machine_type` x86_64 and `os_name` linux.
const MACHINE_X86_64: u32 = 3;
const OS_LINUX: u32 = 2;
const GIB: u64 = 1 << 30;

/// One machine's identity and slowly varying state.
#[derive(Debug)]
pub(crate) struct Machine {
    hostname: String,
    uuid: [u8; 16],
    os_release: String,
    cpu_num: u32,
    cpu_speed_mhz: u32,
    mem_total: u64,
    disk_total: u64,
    /// host_adapters record body (adapters and MACs), prepared once.
    adapters_raw: Vec<u8>,
    adapters_count: u32,
    /// Busy share of the CPUs (0..1) and used share of memory, each a bounded random walk.
    cpu_busy: f64,
    mem_used: f64,
    /// Counters since boot: user, nice, system, idle, iowait, irq, softirq (ms), then
    /// interrupts and context switches.
    cpu_ms: [u64; 7],
    interrupts: u64,
    contexts: u64,
    disk_used: u64,
    reads: u64,
    writes: u64,
    bytes_read: u64,
    bytes_written: u64,
    io_time_ms: u64,
    page_in: u64,
    page_out: u64,
    last_update_us: u64,
    boot_uptime_ms: u64,
}

/// The kind of machine, which sets its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MachineKind {
    Server,
    Switch,
}

impl Machine {
    pub(crate) fn new(
        kind: MachineKind,
        hostname: String,
        uuid: [u8; 16],
        os_release: String,
        macs: &[(u32, [u8; 6])],
        boot_uptime_ms: u64,
        rng: &mut Rng,
    ) -> Self {
        let (cpu_num, mem_total, disk_total) = match kind {
            MachineKind::Server => (
                [16, 32, 64][rng.index(3)],
                [64, 128, 256][rng.index(3)] * GIB,
                960_000_000_000,
            ),
            MachineKind::Switch => (4, 16 * GIB, 32_000_000_000),
        };
        let adapters: Vec<(u32, Vec<u8>)> = macs
            .iter()
            .map(|(if_index, mac)| (*if_index, MacList::to_raw(&[MacAddr(*mac)])))
            .collect();
        let adapter_list: Vec<Adapter<'_>> = adapters
            .iter()
            .map(|(if_index, raw)| Adapter {
                if_index: *if_index,
                macs: MacList::from_raw(raw),
            })
            .collect();
        let uptime_s = boot_uptime_ms / 1000;
        Self {
            hostname,
            uuid,
            os_release,
            cpu_num,
            cpu_speed_mhz: 2600,
            mem_total,
            disk_total,
            adapters_raw: AdapterList::to_raw(&adapter_list),
            adapters_count: adapter_list.len() as u32,
            cpu_busy: rng.uniform(0.05, 0.35),
            mem_used: rng.uniform(0.3, 0.6),
            // As if the machine had been mostly idle since boot.
            cpu_ms: [
                uptime_s * 100 * u64::from(cpu_num),
                0,
                uptime_s * 40 * u64::from(cpu_num),
                uptime_s * 850 * u64::from(cpu_num),
                uptime_s * 5 * u64::from(cpu_num),
                0,
                uptime_s * 5 * u64::from(cpu_num),
            ],
            interrupts: uptime_s * 20_000,
            contexts: uptime_s * 50_000,
            disk_used: disk_total / 5 + rng.below(disk_total / 5),
            reads: uptime_s * 20,
            writes: uptime_s * 60,
            bytes_read: uptime_s * 400_000,
            bytes_written: uptime_s * 1_200_000,
            io_time_ms: uptime_s * 10,
            page_in: uptime_s * 10,
            page_out: uptime_s * 30,
            last_update_us: 0,
            boot_uptime_ms,
        }
    }

    /// Moves the machine's counters on to simulated time `now_us`.
    pub(crate) fn advance(&mut self, now_us: u64, rng: &mut Rng) {
        let elapsed_ms = now_us.saturating_sub(self.last_update_us) / 1000;
        self.last_update_us = now_us;
        if elapsed_ms == 0 {
            return;
        }
        self.cpu_busy = (self.cpu_busy + 0.03 * rng.normal()).clamp(0.02, 0.9);
        self.mem_used = (self.mem_used + 0.01 * rng.normal()).clamp(0.2, 0.9);
        let total = elapsed_ms * u64::from(self.cpu_num);
        let busy = (total as f64 * self.cpu_busy) as u64;
        let [user, _nice, system, idle, wio, _irq, sintr] = &mut self.cpu_ms;
        let (u, sy, si) = (busy * 70 / 100, busy * 22 / 100, busy * 5 / 100);
        *user += u;
        *system += sy;
        *sintr += si;
        *wio += busy - u - sy - si;
        *idle += total - busy;
        let seconds = elapsed_ms / 1000 + 1;
        self.interrupts += seconds * rng.between(10_000, 40_000);
        self.contexts += seconds * rng.between(20_000, 90_000);
        let reads = seconds * rng.between(5, 60);
        let writes = seconds * rng.between(20, 150);
        self.reads += reads;
        self.writes += writes;
        self.bytes_read += reads * 16_384;
        self.bytes_written += writes * 32_768;
        self.io_time_ms += (reads + writes) / 4;
        self.page_in += reads;
        self.page_out += writes;
        self.disk_used = (self.disk_used + writes * 4096).min(self.disk_total * 9 / 10);
    }

    /// The host_descr, host_adapters, CPU, memory and disk records (plus network I/O when given),
    /// as hsflowd puts them in its 2:1 counter sample.
    pub(crate) fn with_records<R>(
        &self,
        now_us: u64,
        net: Option<HostNetIo>,
        use_records: impl FnOnce(&[CounterRecord<'_>]) -> R,
    ) -> R {
        let uptime_s = ((self.boot_uptime_ms + now_us / 1000) / 1000) as u32;
        let load = self.cpu_busy * f64::from(self.cpu_num);
        let [user, nice, system, idle, wio, irq, sintr] = self.cpu_ms.map(|v| v as u32);
        let mem_free = (self.mem_total as f64 * (1.0 - self.mem_used)) as u64;
        let description = CounterRecord::HostDescription(HostDescription {
            hostname: self.hostname.as_bytes(),
            uuid: self.uuid,
            machine_type: MACHINE_X86_64,
            os_name: OS_LINUX,
            os_release: self.os_release.as_bytes(),
        });
        let cpu = CounterRecord::HostCpu(HostCpu {
            load_one: load as f32,
            load_five: (load * 0.95) as f32,
            load_fifteen: (load * 0.9) as f32,
            proc_run: (load.ceil() as u32).max(1),
            proc_total: 300 + self.cpu_num * 20,
            cpu_num: self.cpu_num,
            cpu_speed_mhz: self.cpu_speed_mhz,
            uptime_s,
            cpu_user_ms: user,
            cpu_nice_ms: nice,
            cpu_system_ms: system,
            cpu_idle_ms: idle,
            cpu_wio_ms: wio,
            cpu_intr_ms: irq,
            cpu_sintr_ms: sintr,
            interrupts: self.interrupts as u32,
            contexts: self.contexts as u32,
            extra: Some(HostCpuExtra::default()),
        });
        let memory = CounterRecord::HostMemory(HostMemory {
            mem_total: self.mem_total,
            mem_free,
            mem_shared: self.mem_total / 64,
            mem_buffers: self.mem_total / 50,
            mem_cached: mem_free / 2,
            swap_total: 8 * GIB,
            swap_free: 8 * GIB,
            page_in: self.page_in as u32,
            page_out: self.page_out as u32,
            swap_in: 0,
            swap_out: 0,
        });
        let disk = CounterRecord::HostDiskIo(HostDiskIo {
            disk_total: self.disk_total,
            disk_free: self.disk_total - self.disk_used,
            part_max_used: (self.disk_used * 10_000 / self.disk_total) as u32,
            reads: self.reads as u32,
            bytes_read: self.bytes_read,
            read_time_ms: (self.io_time_ms / 3) as u32,
            writes: self.writes as u32,
            bytes_written: self.bytes_written,
            write_time_ms: (self.io_time_ms * 2 / 3) as u32,
        });
        let adapters = AdapterList::from_raw(self.adapters_count, &self.adapters_raw)
            .map(|adapters| CounterRecord::HostAdapters(rtflow_sflow::HostAdapters { adapters }));
        let mut records = Vec::with_capacity(7);
        records.push(description);
        records.extend(adapters);
        records.push(cpu);
        records.push(memory);
        records.push(disk);
        records.extend(net.map(CounterRecord::HostNetIo));
        use_records(&records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtflow_sflow::{CounterSampleInfo, DataSource, Datagram, DatagramBuilder, Sample};

    #[test]
    fn records_encode_and_counters_grow() {
        let mut rng = Rng::new(3);
        let mut machine = Machine::new(
            MachineKind::Server,
            "h1-1".into(),
            [7; 16],
            "6.1.0-28-amd64".into(),
            &[(2, [0x3c, 0xfd, 0xfe, 1, 1, 1])],
            86_400_000,
            &mut rng,
        );
        let before = machine.cpu_ms.iter().sum::<u64>();
        machine.advance(20_000_000, &mut rng);
        let after = machine.cpu_ms.iter().sum::<u64>();
        assert_eq!(after - before, 20_000 * u64::from(machine.cpu_num));
        let mut builder = DatagramBuilder::new(rtflow_sflow::DatagramHeader {
            agent: rtflow_sflow::Address::V4([10, 1, 1, 11].into()),
            sub_agent_id: 0,
            sequence_number: 1,
            uptime_ms: 0,
        });
        machine.with_records(20_000_000, Some(HostNetIo::default()), |records| {
            assert_eq!(records.len(), 6);
            builder.counter_sample(
                &CounterSampleInfo {
                    expanded: false,
                    sequence_number: 1,
                    source_id: DataSource { class: 2, index: 1 },
                },
                records,
            );
        });
        let bytes = builder.finish();
        let datagram = Datagram::decode(&bytes).unwrap();
        let Some(Ok(Sample::Counter(sample))) = datagram.samples().next() else {
            panic!("no counter sample")
        };
        let mut hostname = None;
        let mut macs = Vec::new();
        for record in sample.records() {
            match record.unwrap() {
                CounterRecord::HostDescription(d) => hostname = Some(d.hostname.to_vec()),
                CounterRecord::HostAdapters(a) => {
                    for adapter in a.adapters.iter() {
                        macs.extend(adapter.macs.iter().map(|m| (adapter.if_index, m.0)));
                    }
                }
                _ => {}
            }
        }
        assert_eq!(hostname.as_deref(), Some(&b"h1-1"[..]));
        assert_eq!(macs, [(2, [0x3c, 0xfd, 0xfe, 1, 1, 1])]);
    }
}
