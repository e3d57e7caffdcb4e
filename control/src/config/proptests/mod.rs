//! Property tests of the readers and the writer.
//!
//! - section config: `parse(write(model)) == model` for arbitrary valid
//!   models, and writing the re-parsed model gives the same text (so
//!   parse -> write -> parse is the identity);
//! - running config: numbers arrive as JSON numbers or strings, with the
//!   same result.

use std::net::IpAddr;

use ipnet::IpNet;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use crate::config::model::*;
use crate::config::{parse_running, parse_section_files, writer};

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{1,7}"
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,12}[A-Za-z0-9]"
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u16; 8]>().prop_map(IpAddr::from),
    ]
}

fn net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<[u8; 4]>(), 0u8..=32).prop_map(|(a, l)| IpNet::new(IpAddr::from(a), l).unwrap()),
        (any::<[u16; 8]>(), 0u8..=128).prop_map(|(a, l)| IpNet::new(IpAddr::from(a), l).unwrap()),
    ]
}

fn extra() -> impl Strategy<Value = Vec<(String, String)>> {
    vec(
        ("x-[a-z]{1,6}", prop_oneof![Just(String::new()), text()]),
        0..3,
    )
    .prop_map(|mut v| {
        v.sort();
        v.dedup_by(|a, b| a.0 == b.0);
        v
    })
}

fn zone() -> impl Strategy<Value = Zone> {
    let common = (
        ident(),
        option::of(vec(ident(), 0..3)),
        option::of(ident()),
        option::of(ident()),
        option::of(any::<u64>()),
        extra(),
    );
    let kind = prop_oneof![
        Just(ZoneType::Simple),
        Just(ZoneType::Vlan),
        Just(ZoneType::QinQ),
        Just(ZoneType::Vxlan),
        Just(ZoneType::Evpn),
        Just(ZoneType::Other("faucet".into())),
    ];
    let specific = (
        option::of(ident()),
        option::of(any::<bool>()),
        option::of(any::<u64>()),
        option::of(prop_oneof![
            Just(VlanProtocol::Dot1Q),
            Just(VlanProtocol::Dot1Ad)
        ]),
        option::of(vec(ip(), 0..4)),
        option::of(any::<u64>()),
        option::of(vec(ident(), 0..3)),
        option::of(any::<bool>()),
        option::of(vec("[0-9]{1,5}:[0-9]{1,5}", 1..3)),
    );
    (common, kind, specific).prop_map(|(c, kind, s)| {
        let (id, nodes, ipam, dns, mtu, extra) = c;
        let mut z = Zone::new(&id, kind.clone());
        let (name, flag, num, proto, peers, num2, list, flag2, rts) = s;
        if !matches!(kind, ZoneType::Other(_)) {
            z.nodes = nodes;
            z.ipam = ipam;
            z.dns = dns;
            z.mtu = mtu;
        }
        match kind {
            ZoneType::Simple => z.dhcp = name,
            ZoneType::Vlan => {
                z.bridge = name;
                z.bridge_disable_mac_learning = flag;
            }
            ZoneType::QinQ => {
                z.bridge = name;
                z.tag = num;
                z.vlan_protocol = proto;
            }
            ZoneType::Vxlan => {
                z.peers = peers;
                z.vxlan_port = num;
            }
            ZoneType::Evpn => {
                z.controller = name;
                z.vrf_vxlan = num;
                z.vxlan_port = num2;
                z.exitnodes = list;
                z.advertise_subnets = flag;
                z.exitnodes_local_routing = flag2;
                z.rt_import = rts;
                z.mac = Some("02:6B:4D:90:1F:E2".into());
            }
            ZoneType::Other(_) => {}
        }
        z.extra = extra;
        z
    })
}

fn vnet() -> impl Strategy<Value = Vnet> {
    (
        ident(),
        ident(),
        option::of(any::<u64>()),
        option::of(any::<bool>()),
        option::of(text()),
        option::of(any::<bool>()),
        extra(),
    )
        .prop_map(|(id, zone, tag, aware, alias, iso, extra)| Vnet {
            tag,
            vlanaware: aware,
            alias,
            isolate_ports: iso,
            extra,
            ..Vnet::new(&id, &zone)
        })
}

fn subnet() -> impl Strategy<Value = Subnet> {
    (
        ident(),
        net(),
        ident(),
        option::of(ip()),
        option::of(any::<bool>()),
        vec((ip(), ip()), 0..3),
        option::of(ip()),
    )
        .prop_map(|(zone, cidr, vnet, gw, snat, ranges, dns)| Subnet {
            gateway: gw,
            snat,
            dhcp_ranges: ranges
                .into_iter()
                .map(|(start, end)| DhcpRange { start, end })
                .collect(),
            dhcp_dns_server: dns,
            ..Subnet::new(&zone, cidr, &vnet)
        })
}

fn controller() -> impl Strategy<Value = Controller> {
    (
        ident(),
        0..3u8,
        option::of(any::<u64>()),
        option::of(vec(ip(), 0..3)),
        option::of(ident()),
        option::of(any::<bool>()),
        option::of(vec(ident(), 0..3)),
    )
        .prop_map(|(id, kind, asn, peers, name, flag, list)| match kind {
            0 => Controller {
                asn,
                peers,
                fabric: name,
                ..Controller::new(&id, ControllerType::Evpn)
            },
            1 => Controller {
                asn,
                peers,
                node: name.clone(),
                ebgp: flag,
                loopback: name,
                ..Controller::new(&id, ControllerType::Bgp)
            },
            _ => Controller {
                node: name.clone(),
                isis_domain: name,
                isis_ifaces: list,
                isis_net: Some("49.0002.0100.2300.4005.00".into()),
                ..Controller::new(&id, ControllerType::Isis)
            },
        })
}

fn fabric() -> impl Strategy<Value = FabricSection> {
    (
        ident(),
        ident(),
        any::<bool>(),
        option::of(net()),
        option::of(any::<u64>()),
        option::of(ip()),
        vec((ident(), option::of(net()), option::of(any::<u64>())), 0..3),
    )
        .prop_map(
            |(fab, node, is_node, prefix, hello, ip, ifaces)| FabricSection {
                id: if is_node {
                    format!("{fab}_{node}")
                } else {
                    fab
                },
                fabric_type: if is_node {
                    FabricType::OpenfabricNode
                } else {
                    FabricType::OpenfabricFabric
                },
                ip_prefix: if is_node { None } else { prefix },
                ip6_prefix: None,
                hello_interval: if is_node { None } else { hello },
                csnp_interval: None,
                area: None,
                ip: if is_node { ip } else { None },
                ip6: None,
                interfaces: if is_node {
                    ifaces
                        .into_iter()
                        .map(|(name, ip, mult)| FabricInterface {
                            name,
                            ip,
                            ip6: None,
                            hello_multiplier: mult,
                            extra: Vec::new(),
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                extra: Vec::new(),
                origin: Default::default(),
            },
        )
}

fn config() -> impl Strategy<Value = SdnConfig> {
    (
        vec(zone(), 0..4),
        vec(vnet(), 0..4),
        vec(subnet(), 0..4),
        vec(controller(), 0..3),
        vec(fabric(), 0..3),
    )
        .prop_map(|(zones, vnets, subnets, controllers, fabrics)| SdnConfig {
            zones,
            vnets,
            subnets,
            controllers,
            fabrics,
            ..SdnConfig::default()
        })
}

fn write_all(cfg: &SdnConfig) -> Vec<(SdnFile, String)> {
    SdnFile::ALL
        .iter()
        .map(|f| (*f, writer::write_file(cfg, *f)))
        .collect()
}

fn parse_all(texts: &[(SdnFile, String)]) -> SdnConfig {
    let files: Vec<(SdnFile, &str)> = texts.iter().map(|(f, t)| (*f, t.as_str())).collect();
    let parsed = parse_section_files(&files);
    let errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    parsed.config
}

proptest! {
    #[test]
    fn section_config_write_parse_is_identity(cfg in config()) {
        let text = write_all(&cfg);
        let parsed = parse_all(&text);
        prop_assert_eq!(&parsed, &cfg);
        let text2 = write_all(&parsed);
        prop_assert_eq!(text2, text);
    }

    #[test]
    fn running_config_numbers_as_strings(
        tag in any::<u64>(), mtu in any::<u64>(), vni in any::<u64>(),
        quote in any::<[bool; 3]>(), flag in any::<bool>(), flag_str in any::<bool>(),
    ) {
        let n = |v: u64, q: bool| if q { format!("\"{v}\"") } else { v.to_string() };
        let b = if flag_str { format!("\"{}\"", u8::from(flag)) } else { u8::from(flag).to_string() };
        let json = format!(
            r#"{{"version": 3,
                "zones": {{"ids": {{"z1": {{"type": "evpn", "mtu": {}, "vrf-vxlan": {},
                                          "advertise-subnets": {b}, "controller": "c"}}}}}},
                "vnets": {{"ids": {{"v1": {{"type": "vnet", "zone": "z1", "tag": {}}}}}}}}}"#,
            n(mtu, quote[0]), n(vni, quote[1]), n(tag, quote[2]),
        );
        let parsed = parse_running(&json, ".running-config");
        prop_assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let z = &parsed.config.zones[0];
        prop_assert_eq!(z.mtu, Some(mtu));
        prop_assert_eq!(z.vrf_vxlan, Some(vni));
        prop_assert_eq!(z.advertise_subnets, Some(flag));
        prop_assert_eq!(parsed.config.vnets[0].tag, Some(tag));
    }
}

proptest! {
    /// Readers, validation and renderers never panic, whatever the input.
    #[test]
    fn arbitrary_input_never_panics(text in "(?s).{0,400}", json in "[ {}\\[\\]\":,a-z0-9.\n-]{0,200}") {
        for file in SdnFile::ALL {
            let parsed = parse_section_files(&[(file, text.as_str())]);
            let _ = crate::validate::report(&parsed);
        }
        let parsed = parse_running(&json, "rc");
        let _ = crate::validate::report(&parsed);
        let facts = crate::node::NodeFacts::from_interfaces(
            "n1",
            &crate::node::interfaces::InterfacesFile::parse(&text),
        );
        let _ = crate::render::render_interfaces(&parsed.config, &facts);
        let _ = crate::render::render_frr(&parsed.config, &facts, Some(&text));
        let _ = crate::compile::compile(&parsed.config, &facts);
    }
}

#[test]
fn foreign_sections_survive_a_round_trip() {
    let text = "vnet: v1\n\tzone z1\n\nweird: w1\n\tflag\n\tk v\n\n";
    let parsed = parse_section_files(&[(SdnFile::Vnets, text)]);
    assert_eq!(parsed.config.foreign.len(), 1);
    assert_eq!(writer::write_file(&parsed.config, SdnFile::Vnets), text);
}
