//! `oui.names`: the server reads an IEEE oui.txt at start and `oui:<mac>:name` flow keys use it.

mod common;

use std::net::{Ipv4Addr, UdpSocket};
use std::time::Duration;

use common::{Agent, Api, TcpFlow, eventually, loopback_config, start};
use rtflow_server::{Properties, ServerConfig};

/// The synthetic frames of `common` come from MAC 02:00:00:00:00:01 to 02:00:00:00:00:02.
const OUI_TXT: &str = "OUI/MA-L\t\t\tOrganization\n\
                       \n\
                       02-00-00   (hex)\t\tExample Local Networks\n\
                       020000     (base 16)\t\tExample Local Networks\n\
                       \t\t\t\tSomewhere 1\n\
                       \n\
                       ZZ-00-00   (hex)\t\tBroken line\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oui_names_file_names_the_organization_of_a_mac() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let oui_file = dir.path().join("oui.txt");
    std::fs::write(&oui_file, OUI_TXT).unwrap_or_else(|e| panic!("{e}"));
    // Through the sFlow-RT property, as an sflow-rt.conf would set it.
    let mut properties = Properties::default();
    properties.set("oui.names", &oui_file.display().to_string());
    let mut config: ServerConfig = loopback_config();
    let unapplied = properties
        .apply(&mut config)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(unapplied.is_empty(), "oui.names is applied: {unapplied:?}");

    let server = start(config).await;
    let sflow = server
        .sflow_addr()
        .unwrap_or_else(|| panic!("no sFlow socket"));
    let api = Api::new(server.http_addr());
    api.put_ok(
        "/flow/vendors/json",
        r#"{"keys":"oui:macsource,oui:macsource:number,null:[oui:macdestination:name]:none","value":"frames"}"#,
    )
    .await;
    api.put_ok(
        "/flow/unnamed/json",
        r#"{"keys":"oui:macsource","value":"frames","filter":"oui:macsource!='Example Local Networks'"}"#,
    )
    .await;

    let sender = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("sender: {e}"));
    let mut agent = Agent::new(Ipv4Addr::new(10, 0, 0, 7), 3, 100);
    let flow = TcpFlow {
        src: Ipv4Addr::new(10, 1, 0, 1),
        dst: Ipv4Addr::new(10, 1, 0, 2),
        sport: 40000,
        dport: 443,
    };
    let keys = eventually(Duration::from_secs(10), "vendor flow", || {
        let datagram = agent.flow_datagram(1_000, &[flow], 1000);
        let sent = sender.send_to(&datagram, sflow);
        let api = &api;
        async move {
            sent.unwrap_or_else(|e| panic!("send: {e}"));
            let flows = api.get("/activeflows/ALL/vendors/json").await;
            let keys: Vec<String> = flows
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["key"].as_str().map(str::to_string))
                .collect();
            (!keys.is_empty()).then_some(keys)
        }
    })
    .await;
    assert_eq!(
        keys,
        ["Example Local Networks,020000,Example Local Networks"]
    );
    let unnamed = api.get("/activeflows/ALL/unnamed/json").await;
    assert_eq!(
        unnamed,
        serde_json::json!([]),
        "the filter drops the named OUI"
    );
    server.shutdown().await;
}
