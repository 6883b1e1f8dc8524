// Package pidf encodes and decodes the two SIP presence bodies cmed serves
// for BLF: PIDF (RFC 3863) with RPID activities (RFC 4480) in the Cisco
// flavour, for Event: presence, and dialog-info (RFC 4235) for Event: dialog.
//
// It is a pure codec (stdlib only, no cmed imports): a LineState goes in, bytes
// come out (AppendPIDF, AppendDialogInfo, AppendBody) and the decoders
// (ParsePIDF, ParseDialogInfo) map bodies from external presence servers such
// as Kamailio back to a LineState. Mapping choices follow
// docs/sip-presence.md §State-mapping.
package pidf
