//! The sFlow codec: decode → encode → decode. Whatever decodes must encode to bytes that decode to the same
//! structures, and the raw re-encoding of a datagram must reproduce its input.
#![no_main]

use rtflow_sflow::{Datagram, DatagramBuilder, Sample};

/// Everything decoded from a datagram, rendered for comparison (Debug also compares NaN floats); `None` when
/// any part fails to decode.
fn render(bytes: &[u8]) -> Option<Vec<String>> {
    let datagram = Datagram::decode(bytes).ok()?;
    let mut out = vec![format!("{:?}", datagram.header)];
    for sample in datagram.samples() {
        match sample.ok()? {
            Sample::Flow(s) => {
                out.push(format!("{:?}", s.info));
                for r in s.records() {
                    out.push(format!("{:?}", r.ok()?));
                }
            }
            Sample::Discard(s) => {
                out.push(format!("{:?}", s.info));
                for r in s.records() {
                    out.push(format!("{:?}", r.ok()?));
                }
            }
            Sample::Counter(s) => {
                out.push(format!("{:?}", s.info));
                for r in s.records() {
                    out.push(format!("{:?}", r.ok()?));
                }
            }
            Sample::Unknown(o) => out.push(format!("{o:?}")),
        }
    }
    Some(out)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(datagram) = Datagram::decode(data) else {
        return;
    };
    // Every sample and record either decodes or is an error; none panics.
    let mut rebuilt = DatagramBuilder::new(datagram.header);
    let mut typed = DatagramBuilder::new(datagram.header);
    let mut all_decoded = true;
    for sample in datagram.samples() {
        let Ok(sample) = sample else {
            all_decoded = false;
            continue;
        };
        rebuilt.sample(&sample);
        match sample {
            Sample::Flow(s) => match s.records().collect::<Result<Vec<_>, _>>() {
                Ok(records) => {
                    typed.flow_sample(&s.info, &records);
                }
                Err(_) => all_decoded = false,
            },
            Sample::Discard(s) => match s.records().collect::<Result<Vec<_>, _>>() {
                Ok(records) => {
                    typed.discard_sample(&s.info, &records);
                }
                Err(_) => all_decoded = false,
            },
            Sample::Counter(s) => match s.records().collect::<Result<Vec<_>, _>>() {
                Ok(records) => {
                    typed.counter_sample(&s.info, &records);
                }
                Err(_) => all_decoded = false,
            },
            Sample::Unknown(_) => {
                typed.sample(&sample);
            }
        }
    }
    if !all_decoded {
        return;
    }
    let first = render(data);
    assert!(first.is_some(), "decoded once, not twice");
    // Raw samples re-encode to the same structures.
    assert_eq!(
        render(&rebuilt.finish()),
        first,
        "raw re-encoding changed the datagram"
    );
    // Typed records encode to bytes that decode to the same structures.
    let encoded = typed.finish();
    assert_eq!(
        render(&encoded),
        first,
        "typed re-encoding changed the datagram"
    );
});
