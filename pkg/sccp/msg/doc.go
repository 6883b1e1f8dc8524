// Package msg is a pure codec for Cisco SCCP ("Skinny"), the TCP protocol
// between 79xx phones and a call manager. It does no I/O beyond framing
// helpers over io.Reader/io.Writer and keeps no session state. Layouts and
// facts are described in docs/sccp.md, cited as docs/sccp.md §<Heading>.
//
// # Shape
//
// Every message is a struct with pion/rtp's codec methods (Marshal, MarshalTo,
// MarshalSize, Unmarshal) over its payload. Framing is separate: ReadFrame /
// Reader split a byte stream into 12-byte header + payload (docs/sccp.md §Framing);
// AppendFrame / WriteMessage add the header and pad our payloads with NULs to a
// multiple of 4, as chan-sccp does. Decode maps an id to a struct and returns
// *Unknown for ids it does not model, so a session never drops a phone for an
// unknown message.
//
// # Choosing layouts
//
// Several messages have a short and a long form or change with the protocol
// version (docs/sccp.md §Version-changes). Incoming payloads are parsed by their length, never by
// the header version field: a 7960G at negotiated v11 sends header version 0
// (docs/sccp.md §Header-version). Outgoing layouts follow the negotiated version held in each
// struct's Version field (set it, or let Decode set it). From v17 every address
// field is the IPv4-or-IPv6 union; HeaderVersion gives the header version field
// to send, which Wireshark needs to pick that layout.
//
// # Version cap per model
//
// The server answers Register with RegisterAck carrying the version both sides
// then use, at most the phone's own (Register byte 40). Models records the cap
// we use, Model.NegotiateVersion applies it; docs/sccp.md §Version-cap says
// why and compares it with what CME negotiates:
//
//   - 7940/7960 (and the other pre-Java sets): v11, the maximum their SCCP 8.x
//     loads announce (docs/sccp.md §Phone-versions). v11 already has OffHook/OnHook with line
//     and call reference, StopTone with a tone, and native BLF through
//     FeatureStatV2 0x146 with button type 0x15 (wazo-libsccp, docs/sccp.md §Native-BLF).
//     Older loads announce 3-5 and get their own version; they do not know
//     0x15, so Model.NativeBLF sends their BLF speed dials as plain speed
//     dials (docs/sccp.md §BLF-fallback).
//   - 79x1/79x2/79x5/797x, 69xx, 89xx (Java loads announcing 15-22): also v11.
//     docs/sccp.md §Checklist item 2 recommends it, following wazo-libsccp, the maintained
//     driver that caps every newer phone at 11: one fixed, IPv4-only layout for
//     the whole fleet, the static messages CUCM itself used, native BLF and
//     call-list BLF still work (neither depends on the version). The Java
//     loads are strict parsers — a message shorter than they expect or an id
//     they do not know resets them (docs/sccp.md §Field-reports) — so staying on the
//     layouts with the most field exposure (wazo, CUCM 4.1 capture) is the
//     lower risk. What is given up: IPv6 media and the dynamic forms of the
//     static messages (CallInfo 0x14A, prompts 0x143-0x145, LineStat 0x147,
//     ConfigStat 0x142), which we do not need.
//
// Dynamic (0x142-0x14A) messages are not all avoided: FeatureStatV2 0x146,
// the native BLF lamp, is one, and cmed sends it at v11 as wazo-libsccp does
// (docs/sccp.md §Native-BLF); the call-list BLF messages 0x152/0x153 are
// sent as well. Everything else goes in the static form.
//
// The codec itself supports v3 through v22 (including the v17 address unions
// and the 168-byte v21+ media messages a 7961G at v22 accepted, docs/sccp.md §Media-messages),
// so raising a model's MaxVersion is a table change, not a codec change.
package msg

//go:generate go run gen.go
