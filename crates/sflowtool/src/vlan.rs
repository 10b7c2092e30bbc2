//! `-V` / `-v`: sflowtool's VLAN filter. A flow or discard sample passes when its input VLAN or
//! its output VLAN is allowed. The input VLAN is the last one set by the sample's records: the
//! innermost 802.1Q tag of a sampled header, or the source VLAN of an extended switch record
//! (0:1001), which also sets the output VLAN. Both are 0 when no record names them, so an
//! include list must name 0 to keep untagged samples (as in sflowtool).

use crate::header_fields::{self as fields, FieldValue};
use rtflow_sflow::{DecodeError, FlowRecord};

/// VLAN ids go up to 4095; sflowtool's table also accepts 4096.
pub const MAX_VLAN: u32 = 4096;

/// Why a `-v` VLAN list cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VlanListError {
    /// An item is neither a number nor a range (the item given).
    #[error("expected a VLAN number or range (like 10 or 0-20), found {0:?}")]
    NotANumber(String),
    /// A VLAN number above [`MAX_VLAN`].
    #[error("VLAN {0} is out of range (0-{MAX_VLAN})")]
    OutOfRange(u32),
    /// A range whose end is below its start.
    #[error("VLAN range {first}-{last} ends before it starts")]
    Backwards {
        /// The range's first VLAN.
        first: u32,
        /// The range's last VLAN, lower than the first.
        last: u32,
    },
    /// The list has no items.
    #[error("the VLAN list is empty")]
    Empty,
}

/// Which VLANs pass. Built from include lists (`-V`: only these) and exclude lists (`-v`: all
/// but these); with both, the includes are applied first, then the excludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanFilter {
    allowed: Vec<bool>,
}

impl VlanFilter {
    /// `include`: lists given with `-V`; `exclude`: lists given with `-v`. Each list holds
    /// numbers and `first-last` ranges separated by commas or spaces, e.g. `0-20,4091`.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, VlanListError> {
        let mut allowed = vec![include.is_empty(); MAX_VLAN as usize + 1];
        for list in include {
            for range in parse_list(list)? {
                set(&mut allowed, range, true);
            }
        }
        for list in exclude {
            for range in parse_list(list)? {
                set(&mut allowed, range, false);
            }
        }
        Ok(VlanFilter { allowed })
    }

    fn allows(&self, vlan: u32) -> bool {
        self.allowed.get(vlan as usize).copied().unwrap_or(false)
    }

    /// Whether a flow or discard sample with these records passes (decoding them as it goes).
    pub fn accepts<'a>(
        &self,
        records: impl Iterator<Item = Result<FlowRecord<'a>, DecodeError>>,
    ) -> Result<bool, DecodeError> {
        let (input, output) = sample_vlans(records)?;
        Ok(self.accepts_vlans(input, output))
    }

    pub(crate) fn accepts_vlans(&self, input: u32, output: u32) -> bool {
        self.allows(input) || self.allows(output)
    }
}

/// The (input, output) VLANs of a flow or discard sample, as sflowtool derives them.
pub(crate) fn sample_vlans<'a>(
    records: impl Iterator<Item = Result<FlowRecord<'a>, DecodeError>>,
) -> Result<(u32, u32), DecodeError> {
    let (mut input, mut output) = (0, 0);
    for record in records {
        match record? {
            FlowRecord::SampledHeader(h) => {
                let header = crate::header::walker_input(&h);
                fields::for_each_field(&header, |name, value| {
                    if let ("decodedVLAN", FieldValue::U32(vlan)) = (name.name, value) {
                        input = vlan;
                    }
                });
            }
            FlowRecord::ExtendedSwitch(s) => {
                input = s.src_vlan;
                output = s.dst_vlan;
            }
            _ => {}
        }
    }
    Ok((input, output))
}

fn set(allowed: &mut [bool], range: std::ops::RangeInclusive<u32>, value: bool) {
    for vlan in range {
        if let Some(slot) = allowed.get_mut(vlan as usize) {
            *slot = value;
        }
    }
}

fn parse_list(list: &str) -> Result<Vec<std::ops::RangeInclusive<u32>>, VlanListError> {
    let ranges = list
        .split([',', ' '])
        .filter(|item| !item.is_empty())
        .map(parse_range)
        .collect::<Result<Vec<_>, _>>()?;
    if ranges.is_empty() {
        return Err(VlanListError::Empty);
    }
    Ok(ranges)
}

fn parse_range(item: &str) -> Result<std::ops::RangeInclusive<u32>, VlanListError> {
    let number = |text: &str| {
        let vlan: u32 = text
            .parse()
            .map_err(|_| VlanListError::NotANumber(item.to_string()))?;
        if vlan > MAX_VLAN {
            return Err(VlanListError::OutOfRange(vlan));
        }
        Ok(vlan)
    };
    match item.split_once('-') {
        None => number(item).map(|vlan| vlan..=vlan),
        Some((first, last)) => {
            let (first, last) = (number(first)?, number(last)?);
            if last < first {
                return Err(VlanListError::Backwards { first, last });
            }
            Ok(first..=last)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: &[&str], exclude: &[&str]) -> VlanFilter {
        let owned = |lists: &[&str]| {
            lists
                .iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>()
        };
        VlanFilter::new(&owned(include), &owned(exclude)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn include_list_allows_only_its_vlans_and_ranges() {
        let f = filter(&["0-20,4091", "30"], &[]);
        for vlan in [0, 7, 20, 30, 4091] {
            assert!(f.allows(vlan), "{vlan}");
        }
        for vlan in [21, 29, 31, 4090, 4095, 5000] {
            assert!(!f.allows(vlan), "{vlan}");
        }
    }

    #[test]
    fn exclude_list_allows_everything_else_and_either_vlan_passes_a_sample() {
        let f = filter(&[], &["10 11"]);
        assert!(!f.allows(10) && !f.allows(11) && f.allows(12) && f.allows(0));
        assert!(f.accepts_vlans(10, 12));
        assert!(!f.accepts_vlans(10, 11));
        let both = filter(&["1-5"], &["3"]);
        assert!(both.allows(2) && !both.allows(3) && !both.allows(6));
    }

    #[test]
    fn bad_lists_name_the_problem() {
        let parse = |list: &str| VlanFilter::new(&[list.to_string()], &[]).map(drop);
        assert_eq!(
            parse("10,x"),
            Err(VlanListError::NotANumber("x".to_string()))
        );
        assert_eq!(parse("5000"), Err(VlanListError::OutOfRange(5000)));
        assert_eq!(
            parse("20-10"),
            Err(VlanListError::Backwards {
                first: 20,
                last: 10
            })
        );
        assert_eq!(parse(" , "), Err(VlanListError::Empty));
        assert!(parse("-3").is_err());
    }
}
