//! The simulator's own pseudo-random generator (xoshiro256++ seeded by SplitMix64) and the few
//! distributions it needs. Kept here rather than taken from a crate so that a seed produces the same
//! capture whatever dependency versions are built.

/// A small, fast, deterministic generator. Not for cryptography. Public for load-testing tools that need the
/// same reproducible draws (`rtflow replay --spoof-agents`).
#[derive(Debug, Clone)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator whose whole sequence follows from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut mix = seed;
        let mut next = || {
            mix = mix.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = mix;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self {
            state: [next(), next(), next(), next()],
        }
    }

    /// An independent generator for one component, so that adding draws in one place does not
    /// shift the sequence seen by another.
    pub(crate) fn fork(&mut self, stream: u64) -> Self {
        Self::new(self.next_u64() ^ stream.wrapping_mul(0xd605_bbb5_8c8a_bf2b))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.state;
        let result = s0.wrapping_add(*s3).rotate_left(23).wrapping_add(*s0);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the bias is below 2^-32 for the small ranges used here.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform index into a slice of `len` items.
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Uniform in [lo, hi] (inclusive).
    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// Uniform in [lo, hi).
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and shape (sigma of the underlying normal).
    pub(crate) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Poisson-distributed count with the given mean: exact (Knuth) for small means, the normal
    /// approximation above 30 where Knuth's product would underflow.
    pub(crate) fn poisson(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            let x = mean + mean.sqrt() * self.normal();
            return x.round().max(0.0) as u64;
        }
        let limit = (-mean).exp();
        let mut product = self.unit();
        let mut count = 0;
        while product > limit {
            count += 1;
            product *= self.unit();
        }
        count
    }

    /// Picks an index with probability proportional to `weights` (which must not all be 0).
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut point = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if point < *w {
                return i;
            }
            point -= w;
        }
        weights.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_forks_differ() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(8).next_u64(), Rng::new(7).next_u64());
        let mut parent = Rng::new(1);
        let mut f1 = parent.clone().fork(1);
        let mut f2 = parent.fork(2);
        assert_ne!(f1.next_u64(), f2.next_u64());
    }

    #[test]
    fn distributions_have_the_expected_means() {
        let mut rng = Rng::new(42);
        let n = 200_000;
        let unit: f64 = (0..n).map(|_| rng.unit()).sum::<f64>() / n as f64;
        assert!((unit - 0.5).abs() < 0.01, "unit mean {unit}");
        let below: f64 = (0..n).map(|_| rng.below(10) as f64).sum::<f64>() / n as f64;
        assert!((below - 4.5).abs() < 0.05, "below(10) mean {below}");
        for mean in [0.3, 4.0, 120.0] {
            let m: f64 = (0..n).map(|_| rng.poisson(mean) as f64).sum::<f64>() / n as f64;
            assert!(
                (m - mean).abs() < mean * 0.02 + 0.01,
                "poisson({mean}) mean {m}"
            );
        }
        let mut sorted: Vec<f64> = (0..n).map(|_| rng.lognormal(100.0, 1.0)).collect();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[n / 2];
        assert!((median - 100.0).abs() < 3.0, "lognormal median {median}");
        let counts = (0..n).fold([0u32; 3], |mut c, _| {
            c[rng.weighted(&[1.0, 0.0, 3.0])] += 1;
            c
        });
        assert_eq!(counts[1], 0);
        let share = f64::from(counts[2]) / n as f64;
        assert!((share - 0.75).abs() < 0.01, "weighted share {share}");
    }
}
