//! SNMP polling against a private Debian net-snmp `snmpd` on 127.0.0.1 and [::1]: v2c and v3 (authPriv and
//! authNoPriv), the failures (wrong community, wrong password), and the background poller with credentials
//! chosen per address range.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use rtflow_snmp::{
    AuthProtocol, Credentials, PollError, PrivProtocol, RangeCredentials, SnmpConfig, SnmpPoller,
    poll_agent,
};
use rtflow_testkit::servers::Snmpd;
use rtflow_testkit::servers::snmp_credentials::*;

const TIMEOUT: Duration = Duration::from_millis(500);

fn v2c(community: &str) -> Credentials {
    Credentials::V2c {
        community: community.into(),
    }
}

fn v3(user: &str, privacy: bool, password: &str) -> Credentials {
    Credentials::V3 {
        user: user.into(),
        auth: Some((AuthProtocol::Sha1, password.into())),
        privacy: privacy.then(|| (PrivProtocol::Aes128, V3_PRIV_PASSWORD.into())),
        context: String::new(),
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// The loopback interface as snmpd reports it: ifIndex 1, named lo, 10 Mbit/s (net-snmp's value for lo).
fn assert_loopback_named(names: &rtflow_snmp::AgentNames) {
    assert_eq!(names.sys_name.as_deref(), Some(SYS_NAME));
    let lo = names
        .interfaces
        .get(&1)
        .unwrap_or_else(|| panic!("no ifIndex 1 in {names:?}"));
    assert_eq!(&*lo.name, "lo");
    assert_eq!(
        &*lo.description, "",
        "ifAlias empty and ifDescr equal to the name"
    );
    assert_eq!(lo.speed_mbps, 10);
}

#[test]
fn v2c_and_v3_over_ipv4_and_ipv6() {
    let Some(snmpd) = Snmpd::start() else {
        return;
    };
    for agent in ["127.0.0.1", "::1"] {
        for credentials in [
            v2c(COMMUNITY),
            v3(V3_USER, true, V3_AUTH_PASSWORD),
            v3(V3_AUTH_USER, false, V3_AUTH_PASSWORD),
        ] {
            let names = poll_agent(ip(agent), snmpd.port, &credentials, TIMEOUT, 1, 1000)
                .unwrap_or_else(|e| panic!("{agent} {credentials:?}: {e}\n{}", snmpd.log()));
            assert_loopback_named(&names);
        }
    }
    // An IPv4-mapped agent address is polled over IPv4.
    let names = poll_agent(
        ip("::ffff:127.0.0.1"),
        snmpd.port,
        &v2c(COMMUNITY),
        TIMEOUT,
        1,
        1000,
    )
    .expect("mapped address polled over IPv4");
    assert_loopback_named(&names);
}

#[test]
fn failures_are_told_apart() {
    let Some(snmpd) = Snmpd::start() else {
        return;
    };
    let started = Instant::now();
    let err = poll_agent(ip("127.0.0.1"), snmpd.port, &v2c("wrong"), TIMEOUT, 0, 10).unwrap_err();
    assert!(matches!(err, PollError::NoAnswer(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = poll_agent(
        ip("::1"),
        snmpd.port,
        &v3(V3_USER, true, "not-the-password"),
        TIMEOUT,
        0,
        10,
    )
    .unwrap_err();
    assert!(matches!(err, PollError::Auth { .. }), "{err}");
}

#[test]
fn the_poller_fills_its_cache_in_the_background_with_per_range_credentials() {
    let Some(snmpd) = Snmpd::start() else {
        return;
    };
    let config = SnmpConfig {
        // The default would fail: each address range has its own credentials.
        default: v2c("wrong"),
        default_port: snmpd.port,
        ranges: vec![
            RangeCredentials {
                range: "127.0.0.0/8".parse().unwrap(),
                credentials: v2c(COMMUNITY),
                port: snmpd.port,
            },
            RangeCredentials {
                range: "::1/128".parse().unwrap(),
                credentials: v3(V3_USER, true, V3_AUTH_PASSWORD),
                port: snmpd.port,
            },
        ],
        timeout: TIMEOUT,
        retries: 0,
        ..SnmpConfig::default()
    };
    let poller = SnmpPoller::start(config).expect("poller starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    for agent in [ip("127.0.0.1"), ip("::1")] {
        let names = loop {
            // The first lookup only queues a poll; it never waits for SNMP.
            if let Some(names) = poller.agent(agent) {
                break names;
            }
            assert!(
                Instant::now() < deadline,
                "no names for {agent}: {:?}",
                poller.last_error(agent)
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_loopback_named(&names);
    }
    // Nothing answers on 127.0.0.2: the poll fails, is counted, and the agent stays unnamed.
    let silent = ip("127.0.0.2");
    assert!(poller.agent(silent).is_none());
    while poller.last_error(silent).is_none() {
        assert!(Instant::now() < deadline, "no poll error for {silent}");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(poller.agent(silent).is_none());
    let stats = poller.stats();
    assert_eq!(stats.agents, 3, "{stats:?}");
    assert!(stats.poll_errors >= 1, "{stats:?}");
    assert_eq!(stats.agents_named, 2, "{stats:?}");
    assert_eq!(stats.auth_failures, 0);
    assert_eq!(poller.named_agents().len(), 2);
    poller.shutdown();
}
