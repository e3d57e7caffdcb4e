//! Validation tests over small hand-written configurations.

use crate::config::model::SdnFile;
use crate::config::{parse_running, parse_section_files};
use crate::diag::Severity;
use crate::validate::report;

fn check(files: &[(SdnFile, &str)]) -> Vec<String> {
    let parsed = parse_section_files(files);
    report(&parsed)
        .iter()
        .map(|d| format!("{}: {d}", d.severity))
        .collect()
}

fn has(out: &[String], needle: &str) -> bool {
    out.iter().any(|l| l.contains(needle))
}

const GOOD_ZONES: &str = "\
simple: simple
\tipam pve

vlan: myvlan
\tbridge vmbr0
\tmtu 1500

qinq: qinqz1
\tbridge vmbr0
\ttag 20
\tvlan-protocol 802.1ad

vxlan: myvxlan
\tpeers 192.168.0.1,192.168.0.2,192.168.0.3
\tmtu 1450

evpn: myevpn
\tcontroller evpnctl
\tvrf-vxlan 10000
\texitnodes node1,node2
\texitnodes-primary node1
\tmac 32:F4:05:FE:6C:0A
\tmtu 1450
";

const GOOD_VNETS: &str = "\
vnet: vnet0
\tzone simple

vnet: vlan10
\tzone myvlan
\ttag 10

vnet: vxlan1
\tzone myvxlan
\ttag 100000

vnet: myvnet1
\tzone myevpn
\ttag 11000
";

const GOOD_SUBNETS: &str = "\
subnet: simple-192.0.2.0-24
\tvnet vnet0
\tgateway 192.0.2.1
\tsnat 1

subnet: myevpn-10.0.1.0-24
\tvnet myvnet1
\tgateway 10.0.1.1
";

const GOOD_CONTROLLERS: &str = "\
evpn: evpnctl
\tasn 65000
\tpeers 192.168.0.1,192.168.0.2,192.168.0.3

bgp: bgpnode1
\tasn 65001
\tnode node1
\tpeers 10.77.0.254,10.78.0.254
\tebgp 1
\tebgp-multihop 3
\tloopback lo7
";

#[test]
fn a_good_configuration_is_clean() {
    let out = check(&[
        (SdnFile::Zones, GOOD_ZONES),
        (SdnFile::Vnets, GOOD_VNETS),
        (SdnFile::Subnets, GOOD_SUBNETS),
        (SdnFile::Controllers, GOOD_CONTROLLERS),
    ]);
    assert!(out.is_empty(), "{out:#?}");
}

#[test]
fn every_problem_is_reported_at_once_with_location() {
    let zones = "\
vlan: toolongzone
\tmtu 20

evpn: ez1
\tcontroller nope
\tvrf-vxlan 100
\texitnodes-primary node9
\tmac 01:00:5e:00:00:01

evpn: ez2
\tcontroller bgp1
\tvrf-vxlan 100
\tmac 01:00:5e:00:00:01

vxlan: vx1
\tpeers 10.0.0.1
\tvxlan-port 65536
\tfabric f1

qinq: q1
\tbridge vmbr0
\ttag 5000
";
    let vnets = "\
vnet: v1
\tzone simple1
\ttag 5

vnet: vl1
\tzone vz
\ttag 4096

vnet: vl2
\tzone vz
\ttag 100

vnet: vl3
\tzone vz
\ttag 100

vnet: e1
\tzone ez1
\ttag 100

vnet: q1a
\tzone q1

vnet: q1b
\tzone q1

vnet: gone
\tzone nowhere
";
    let zones2 = format!("{zones}\nvlan: vz\n\tbridge vmbr0\n\nsimple: simple1\n");
    let subnets = "\
subnet: simple1-10.0.0.0-24
\tvnet v1
\tgateway 10.0.1.1

subnet: simple1-10.0.0.0-16
\tvnet v1

subnet: other-10.9.0.0-24
\tvnet v1
";
    let controllers = "\
bgp: bgp1
\tasn 65001
\tnode n1
\tpeers 10.0.0.1

bgp: bgp2
\tasn 4294967296
\tnode n1
\tpeers 10.0.0.2
";
    let out = check(&[
        (SdnFile::Zones, zones2.as_str()),
        (SdnFile::Vnets, vnets),
        (SdnFile::Subnets, subnets),
        (SdnFile::Controllers, controllers),
    ]);
    let expect = [
        "warning: zones.cfg:1: zone 'toolongzone': zone id is 11 characters: Proxmox VE since 9.2 accepts at most 8",
        "error: zones.cfg:1: zone 'toolongzone', key 'bridge': missing required key for a vlan zone",
        "error: zones.cfg:2: zone 'toolongzone', key 'mtu': MTU 20 is out of range 68..65535",
        "error: zones.cfg:5: zone 'ez1', key 'controller': controller 'nope' does not exist",
        "error: zones.cfg:6: zone 'ez1', key 'vrf-vxlan': VRF VNI 100 is also the VNI of vnet 'e1'",
        "warning: zones.cfg:7: zone 'ez1', key 'exitnodes-primary': primary exit node 'node9' is not listed",
        "error: zones.cfg:8: zone 'ez1', key 'mac': '01:00:5e:00:00:01' is a multicast",
        "error: zones.cfg:11: zone 'ez2', key 'controller': controller 'bgp1' is a bgp controller",
        "error: zones.cfg:12: zone 'ez2', key 'vrf-vxlan': VRF VNI 100 is also the VNI of vnet 'e1'",
        "error: zones.cfg:12: zone 'ez2', key 'vrf-vxlan': VRF VNI 100 is already used by zone 'ez1'",
        "error: zones.cfg:13: zone 'ez2', key 'mac': '01:00:5e:00:00:01' is a multicast",
        "error: zones.cfg:13: zone 'ez2', key 'mac': anycast gateway MAC is already used by zone 'ez1'",
        "error: zones.cfg:17: zone 'vx1', key 'vxlan-port': UDP port 65536 is out of range 1..65535",
        "error: zones.cfg:18: zone 'vx1', key 'fabric': set either 'peers' or 'fabric', not both",
        "error: zones.cfg:18: zone 'vx1', key 'fabric': fabric 'f1' does not exist",
        "error: zones.cfg:22: zone 'q1', key 'tag': service VLAN tag 5000 is out of range 1..4094",
        "error: vnets.cfg:3: vnet 'v1', key 'tag': a vnet in a simple zone cannot have a tag",
        "error: vnets.cfg:7: vnet 'vl1', key 'tag': VLAN tag 4096 is out of range 1..4094",
        "error: vnets.cfg:15: vnet 'vl3', key 'tag': tag 100 is already used by vnet 'vl2' in zone 'vz'",
        "error: vnets.cfg:24: vnet 'q1b': zone 'q1' already has a tag-less vnet ('q1a')",
        "error: vnets.cfg:28: vnet 'gone', key 'zone': zone 'nowhere' does not exist",
        "warning: subnets.cfg:3: subnet 'simple1-10.0.0.0-24', key 'gateway': gateway 10.0.1.1 is outside 10.0.0.0/24",
        "error: subnets.cfg:5: subnet 'simple1-10.0.0.0-16': 10.0.0.0/16 overlaps 10.0.0.0/24",
        "error: subnets.cfg:8: subnet 'other-10.9.0.0-24': the id names zone 'other' but vnet 'v1' is in zone 'simple1'",
        "error: controllers.cfg:7: controller 'bgp2', key 'asn': ASN 4294967296 is out of range",
        "error: controllers.cfg:8: controller 'bgp2', key 'node': node 'n1' already has bgp controller 'bgp1'",
    ];
    for e in expect {
        assert!(has(&out, e), "missing {e:?} in {out:#?}");
    }
    assert_eq!(out.len(), expect.len(), "{out:#?}");
}

#[test]
fn long_zone_ids_fail_only_where_an_interface_name_overflows() {
    let zones = "\
vxlan: myvxlanzone
\tpeers 192.168.0.1

qinq: qinqzone1
\tbridge vmbr0
\ttag 20

qinq: qinqzone12345
\tbridge vmbr0
\ttag 30

evpn: evpnzone12
\tcontroller c1
\tvrf-vxlan 10000

controller-less: x
";
    let controllers = "evpn: c1\n\tasn 65000\n\tpeers 192.168.0.1\n";
    let out = check(&[(SdnFile::Zones, zones), (SdnFile::Controllers, controllers)]);
    for e in [
        "warning: zones.cfg:1: zone 'myvxlanzone': zone id is 11 characters",
        "warning: zones.cfg:4: zone 'qinqzone1': zone id is 9 characters",
        "error: zones.cfg:8: zone 'qinqzone12345': zone id is 13 characters: the interface sv_qinqzone12345 would exceed",
        "error: zones.cfg:12: zone 'evpnzone12': zone id is 10 characters: the interface vrfbr_evpnzone12 would exceed",
    ] {
        assert!(has(&out, e), "missing {e:?} in {out:#?}");
    }
}

#[test]
fn running_config_problems_name_section_and_key() {
    let json = r#"{"version": 1,
  "zones": {"ids": {"z1": {"type": "vlan", "bridge": "vmbr0"}}},
  "vnets": {"ids": {"v1": {"type": "vnet", "zone": "z1", "tag": "4096"}}}}"#;
    let parsed = parse_running(json, ".running-config");
    let diags = report(&parsed);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].severity, Severity::Error);
    assert_eq!(
        diags[0].to_string(),
        ".running-config:3: vnet 'v1', key 'tag': VLAN tag 4096 is out of range 1..4094"
    );
}

#[test]
fn warnings_alone_are_not_errors() {
    let out = check(&[
        (SdnFile::Zones, "simple: s1\n\tnodes\n\tcolour red\n"),
        (SdnFile::Subnets, "subnet: s1-10.0.0.5-24\n\tvnet v1\n"),
        (SdnFile::Vnets, "vnet: v1\n\tzone s1\n"),
    ]);
    assert!(out.iter().all(|l| l.starts_with("warning")), "{out:#?}");
    assert_eq!(out.len(), 3, "{out:#?}");
}

#[test]
fn messages_use_an_before_a_vowel() {
    let out = check(&[
        (
            SdnFile::Zones,
            "evpn: e1\n\tbridge vmbr0\n\nevpn: e2\n\tcontroller i1\n\tvrf-vxlan 5\n",
        ),
        (SdnFile::Vnets, "vnet: v1\n\tzone e1\n"),
        (
            SdnFile::Controllers,
            "isis: i1\n\tnode n1\n\tisis-domain d\n\tisis-ifaces eno1\n\tisis-net 49.0002.0000.0000.0007.00\n",
        ),
    ]);
    for e in [
        "zone 'e1', key 'bridge': key is not valid for an evpn zone",
        "zone 'e1', key 'controller': missing required key for an evpn zone",
        "zone 'e2', key 'controller': controller 'i1' is an isis controller",
        "vnet 'v1': a vnet in an evpn zone needs a 'tag'",
    ] {
        assert!(has(&out, e), "missing {e:?} in {out:#?}");
    }
    assert!(
        !out.iter()
            .any(|l| l.contains(" a evpn") || l.contains(" a isis")),
        "{out:#?}"
    );
}

#[test]
fn dns_names_and_service_references() {
    let zones = "\
simple: s1
\tipam nope
\tdns nodns
\treversedns nodns
\tdnszone bad_zone..x

simple: s2
\tipam pve
\tdnszone example.com
";
    let subnets = "\
subnet: s1-10.0.0.0-24
\tvnet v1
\tdnszoneprefix -pre.fix

subnet: s2-10.1.0.0-24
\tvnet v2
\tdnszoneprefix in.ternal
";
    let vnets = "vnet: v1\n\tzone s1\n\nvnet: v2\n\tzone s2\n";
    // no ipams.cfg and no dns.cfg: only the built-in 'pve' IPAM exists
    let out = check(&[
        (SdnFile::Zones, zones),
        (SdnFile::Vnets, vnets),
        (SdnFile::Subnets, subnets),
    ]);
    let expect = [
        "error: zones.cfg:2: zone 's1', key 'ipam': ipam 'nope' does not exist in ipams.cfg (only 'pve' is built in)",
        "error: zones.cfg:3: zone 's1', key 'dns': dns 'nodns' does not exist in dns.cfg",
        "error: zones.cfg:4: zone 's1', key 'reversedns': dns 'nodns' does not exist in dns.cfg",
        "error: zones.cfg:5: zone 's1', key 'dnszone': 'bad_zone..x' is not a DNS name",
        "error: subnets.cfg:3: subnet 's1-10.0.0.0-24', key 'dnszoneprefix': '-pre.fix' is not a DNS name",
    ];
    for e in expect {
        assert!(has(&out, e), "missing {e:?} in {out:#?}");
    }
    assert_eq!(out.len(), expect.len(), "{out:#?}");
    // with the files present, ids that exist are fine
    let out = check(&[
        (SdnFile::Zones, zones),
        (
            SdnFile::Ipams,
            "netbox: nope\n\turl https://nb.invalid/api\n\ttoken t\n",
        ),
        (
            SdnFile::Dns,
            "powerdns: nodns\n\turl https://dns.invalid\n\tkey k\n",
        ),
    ]);
    assert!(!has(&out, "does not exist"), "{out:#?}");
}

#[test]
fn a_running_config_does_not_carry_ipams_or_dns() {
    let json =
        r#"{"zones": {"ids": {"s1": {"type": "simple", "ipam": "netbox1", "dns": "pdns"}}}}"#;
    let diags = report(&parse_running(json, "rc"));
    assert!(diags.is_empty(), "{diags:?}");
    let json = r#"{"zones": {"ids": {"s1": {"type": "simple", "ipam": "netbox1"}}},
  "ipams": {"ids": {"other": {"type": "pve"}}}}"#;
    let diags = report(&parse_running(json, "rc"));
    assert!(
        diags
            .iter()
            .any(|d| d.message.contains("ipam 'netbox1' does not exist")),
        "{diags:?}"
    );
}

#[test]
fn vlan_id_4095_is_an_error() {
    let out = check(&[
        (
            SdnFile::Zones,
            "vlan: vl\n\tbridge vmbr0\n\nqinq: qq\n\tbridge vmbr0\n\ttag 4094\n",
        ),
        (
            SdnFile::Vnets,
            "vnet: top\n\tzone vl\n\ttag 4094\n\nvnet: resv\n\tzone vl\n\ttag 4095\n\n\
             vnet: cres\n\tzone qq\n\ttag 4095\n",
        ),
    ]);
    assert_eq!(
        out,
        [
            "error: vnets.cfg:7: vnet 'resv', key 'tag': VLAN tag 4095 is out of range 1..4094",
            "error: vnets.cfg:11: vnet 'cres', key 'tag': customer VLAN tag 4095 is out of range 1..4094",
        ]
    );
}
