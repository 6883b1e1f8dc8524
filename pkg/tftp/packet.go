package tftp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Opcode is the first two bytes of every TFTP packet (RFC 1350 §5, RFC 2347).
type Opcode uint16

// Opcodes of RFC 1350 §5 and RFC 2347 (OACK).
const (
	OpRRQ   Opcode = 1 // read request
	OpWRQ   Opcode = 2 // write request
	OpDATA  Opcode = 3
	OpACK   Opcode = 4
	OpERROR Opcode = 5
	OpOACK  Opcode = 6 // option acknowledgment, RFC 2347
)

func (o Opcode) String() string {
	switch o {
	case OpRRQ:
		return "RRQ"
	case OpWRQ:
		return "WRQ"
	case OpDATA:
		return "DATA"
	case OpACK:
		return "ACK"
	case OpERROR:
		return "ERROR"
	case OpOACK:
		return "OACK"
	}
	return "Opcode(" + strconv.Itoa(int(o)) + ")"
}

// ErrorCode is the code of an ERROR packet (RFC 1350 Appendix, RFC 2347).
type ErrorCode uint16

// Error codes of RFC 1350 Appendix and RFC 2347 (8).
const (
	ErrCodeUndefined        ErrorCode = 0 // not defined, see message
	ErrCodeNotFound         ErrorCode = 1 // file not found
	ErrCodeAccessViolation  ErrorCode = 2
	ErrCodeDiskFull         ErrorCode = 3
	ErrCodeIllegalOperation ErrorCode = 4
	ErrCodeUnknownTID       ErrorCode = 5
	ErrCodeFileExists       ErrorCode = 6
	ErrCodeNoSuchUser       ErrorCode = 7
	ErrCodeOptionRefused    ErrorCode = 8 // RFC 2347: terminate because of option negotiation
)

// Size limits.
const (
	// DefaultBlockSize is RFC 1350's fixed data size.
	DefaultBlockSize = 512
	// MinBlockSize and MaxBlockSize bound the blksize option (RFC 2348).
	MinBlockSize = 8
	MaxBlockSize = 65464
	// MaxPacketSize is the largest packet this package decodes or builds:
	// a DATA packet of MaxBlockSize plus its 4-byte header.
	MaxPacketSize = MaxBlockSize + 4
)

// Option is one RFC 2347 option: name and value, both NUL-terminated strings
// on the wire. Names compare case-insensitively (RFC 2347 "Options").
type Option struct {
	Name  string
	Value string
}

// Options is an ordered option list, kept in wire order so that an OACK can
// be compared byte for byte in tests.
type Options []Option

// Get returns the value of the named option (case-insensitive).
func (o Options) Get(name string) (string, bool) {
	for _, opt := range o {
		if strings.EqualFold(opt.Name, name) {
			return opt.Value, true
		}
	}
	return "", false
}

// Packet is any decoded TFTP packet.
type Packet interface {
	Opcode() Opcode
	MarshalSize() int
	MarshalTo(buf []byte) (int, error)
	Marshal() ([]byte, error)
	Unmarshal(buf []byte) error
}

// Request is an RRQ or WRQ (RFC 1350 §5, RFC 2347 for the options):
//
//	| opcode | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | ...
type Request struct {
	Write    bool // WRQ instead of RRQ
	Filename string
	Mode     string // "octet", "netascii" or "mail", any case
	Options  Options
}

// Data is a DATA packet: | 3 | block | payload (0..blksize bytes) |.
type Data struct {
	Block   uint16
	Payload []byte // aliases the decoded buffer after Unmarshal
}

// Ack is an ACK packet: | 4 | block |.
type Ack struct {
	Block uint16
}

// Error is an ERROR packet: | 5 | code | message | 0 |.
type Error struct {
	Code    ErrorCode
	Message string
}

// OptionAck is an OACK packet (RFC 2347): | 6 | opt1 | 0 | value1 | 0 | ...
type OptionAck struct {
	Options Options
}

func (p *Request) Opcode() Opcode {
	if p.Write {
		return OpWRQ
	}
	return OpRRQ
}
func (*Data) Opcode() Opcode      { return OpDATA }
func (*Ack) Opcode() Opcode       { return OpACK }
func (*Error) Opcode() Opcode     { return OpERROR }
func (*OptionAck) Opcode() Opcode { return OpOACK }

// Error makes an ERROR packet usable as a Go error (for a peer's ERROR).
func (p *Error) Error() string {
	return fmt.Sprintf("tftp error %d: %s", p.Code, p.Message)
}

// ParsePacket decodes one datagram into the packet type its opcode names.
func ParsePacket(buf []byte) (Packet, error) {
	if len(buf) < 2 {
		return nil, errShortPacket
	}
	var p Packet
	switch Opcode(binary.BigEndian.Uint16(buf)) {
	case OpRRQ, OpWRQ:
		p = &Request{}
	case OpDATA:
		p = &Data{}
	case OpACK:
		p = &Ack{}
	case OpERROR:
		p = &Error{}
	case OpOACK:
		p = &OptionAck{}
	default:
		return nil, errUnknownOpcode
	}
	if err := p.Unmarshal(buf); err != nil {
		return nil, err
	}
	return p, nil
}

// checkOpcode verifies the packet is at least minLen long and carries one of
// the wanted opcodes.
func checkOpcode(buf []byte, minLen int, want ...Opcode) (Opcode, error) {
	if len(buf) < 2 || len(buf) < minLen {
		return 0, errShortPacket
	}
	if len(buf) > MaxPacketSize {
		return 0, errPacketTooLarge
	}
	op := Opcode(binary.BigEndian.Uint16(buf))
	for _, w := range want {
		if op == w {
			return op, nil
		}
	}
	return 0, errWrongOpcode
}

// splitStrings cuts a sequence of NUL-terminated strings. Every string must
// be terminated (RFC 1350 §5 "terminated by a zero byte").
func splitStrings(buf []byte) ([]string, error) {
	var out []string
	for len(buf) > 0 {
		i := bytes.IndexByte(buf, 0)
		if i < 0 {
			return nil, errUnterminatedString
		}
		out = append(out, string(buf[:i]))
		buf = buf[i+1:]
	}
	return out, nil
}

func stringsSize(strs ...string) int {
	n := 0
	for _, s := range strs {
		n += len(s) + 1
	}
	return n
}

func optionsSize(opts Options) int {
	n := 0
	for _, o := range opts {
		n += stringsSize(o.Name, o.Value)
	}
	return n
}

// putString writes s and its NUL terminator; s itself must not contain NUL.
func putString(buf []byte, s string) (int, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return 0, errNULInString
	}
	n := copy(buf, s)
	buf[n] = 0
	return n + 1, nil
}

func putOptions(buf []byte, opts Options) (int, error) {
	off := 0
	for _, o := range opts {
		if o.Name == "" {
			return 0, errEmptyOptionName
		}
		for _, s := range [2]string{o.Name, o.Value} {
			n, err := putString(buf[off:], s)
			if err != nil {
				return 0, err
			}
			off += n
		}
	}
	return off, nil
}

func parseOptions(strs []string) (Options, error) {
	if len(strs)%2 != 0 {
		return nil, errOddOptions
	}
	var opts Options
	for i := 0; i < len(strs); i += 2 {
		if strs[i] == "" {
			return nil, errEmptyOptionName
		}
		opts = append(opts, Option{Name: strs[i], Value: strs[i+1]})
	}
	return opts, nil
}

// marshal is the shared Marshal body: size, allocate, MarshalTo.
func marshal(p Packet) ([]byte, error) {
	buf := make([]byte, p.MarshalSize())
	n, err := p.MarshalTo(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// MarshalSize is the encoded length in bytes.
func (p *Request) MarshalSize() int {
	return 2 + stringsSize(p.Filename, p.Mode) + optionsSize(p.Options)
}

// Marshal encodes the request into a new buffer.
func (p *Request) Marshal() ([]byte, error) { return marshal(p) }

// MarshalTo encodes the request into buf and returns the bytes written.
func (p *Request) MarshalTo(buf []byte) (int, error) {
	size := p.MarshalSize()
	if len(buf) < size {
		return 0, errBufferTooSmall
	}
	if size > MaxPacketSize {
		return 0, errPacketTooLarge
	}
	if p.Filename == "" || p.Mode == "" {
		return 0, errEmptyField
	}
	binary.BigEndian.PutUint16(buf, uint16(p.Opcode()))
	off := 2
	for _, s := range [2]string{p.Filename, p.Mode} {
		n, err := putString(buf[off:], s)
		if err != nil {
			return 0, err
		}
		off += n
	}
	n, err := putOptions(buf[off:], p.Options)
	if err != nil {
		return 0, err
	}
	return off + n, nil
}

// Unmarshal decodes an RRQ or WRQ.
func (p *Request) Unmarshal(buf []byte) error {
	op, err := checkOpcode(buf, 2, OpRRQ, OpWRQ)
	if err != nil {
		return err
	}
	strs, err := splitStrings(buf[2:])
	if err != nil {
		return err
	}
	if len(strs) < 2 || strs[0] == "" || strs[1] == "" {
		return errEmptyField
	}
	opts, err := parseOptions(strs[2:])
	if err != nil {
		return err
	}
	*p = Request{Write: op == OpWRQ, Filename: strs[0], Mode: strs[1], Options: opts}
	return nil
}

// MarshalSize is the encoded length in bytes.
func (p *Data) MarshalSize() int { return 4 + len(p.Payload) }

// Marshal encodes the packet into a new buffer.
func (p *Data) Marshal() ([]byte, error) { return marshal(p) }

// MarshalTo encodes the packet into buf and returns the bytes written.
func (p *Data) MarshalTo(buf []byte) (int, error) {
	if len(p.Payload) > MaxBlockSize {
		return 0, errPacketTooLarge
	}
	if len(buf) < p.MarshalSize() {
		return 0, errBufferTooSmall
	}
	binary.BigEndian.PutUint16(buf, uint16(OpDATA))
	binary.BigEndian.PutUint16(buf[2:], p.Block)
	return 4 + copy(buf[4:], p.Payload), nil
}

// Unmarshal decodes a DATA packet; Payload aliases buf.
func (p *Data) Unmarshal(buf []byte) error {
	if _, err := checkOpcode(buf, 4, OpDATA); err != nil {
		return err
	}
	p.Block = binary.BigEndian.Uint16(buf[2:])
	p.Payload = buf[4:]
	return nil
}

// MarshalSize is the encoded length in bytes.
func (p *Ack) MarshalSize() int { return 4 }

// Marshal encodes the packet into a new buffer.
func (p *Ack) Marshal() ([]byte, error) { return marshal(p) }

// MarshalTo encodes the packet into buf and returns the bytes written.
func (p *Ack) MarshalTo(buf []byte) (int, error) {
	if len(buf) < 4 {
		return 0, errBufferTooSmall
	}
	binary.BigEndian.PutUint16(buf, uint16(OpACK))
	binary.BigEndian.PutUint16(buf[2:], p.Block)
	return 4, nil
}

// Unmarshal decodes an ACK. Trailing bytes are refused: RFC 1350 ACKs are
// exactly 4 bytes.
func (p *Ack) Unmarshal(buf []byte) error {
	if _, err := checkOpcode(buf, 4, OpACK); err != nil {
		return err
	}
	if len(buf) != 4 {
		return errTrailingBytes
	}
	p.Block = binary.BigEndian.Uint16(buf[2:])
	return nil
}

// MarshalSize is the encoded length in bytes.
func (p *Error) MarshalSize() int { return 4 + stringsSize(p.Message) }

// Marshal encodes the packet into a new buffer.
func (p *Error) Marshal() ([]byte, error) { return marshal(p) }

// MarshalTo encodes the packet into buf and returns the bytes written.
func (p *Error) MarshalTo(buf []byte) (int, error) {
	size := p.MarshalSize()
	if len(buf) < size {
		return 0, errBufferTooSmall
	}
	if size > MaxPacketSize {
		return 0, errPacketTooLarge
	}
	binary.BigEndian.PutUint16(buf, uint16(OpERROR))
	binary.BigEndian.PutUint16(buf[2:], uint16(p.Code))
	n, err := putString(buf[4:], p.Message)
	if err != nil {
		return 0, err
	}
	return 4 + n, nil
}

// Unmarshal decodes an ERROR packet. A missing final NUL is tolerated (some
// old clients omit it); a NUL inside the message ends it.
func (p *Error) Unmarshal(buf []byte) error {
	if _, err := checkOpcode(buf, 4, OpERROR); err != nil {
		return err
	}
	msg := buf[4:]
	if i := bytes.IndexByte(msg, 0); i >= 0 {
		msg = msg[:i]
	}
	p.Code = ErrorCode(binary.BigEndian.Uint16(buf[2:]))
	p.Message = string(msg)
	return nil
}

// MarshalSize is the encoded length in bytes.
func (p *OptionAck) MarshalSize() int { return 2 + optionsSize(p.Options) }

// Marshal encodes the packet into a new buffer.
func (p *OptionAck) Marshal() ([]byte, error) { return marshal(p) }

// MarshalTo encodes the packet into buf and returns the bytes written.
func (p *OptionAck) MarshalTo(buf []byte) (int, error) {
	size := p.MarshalSize()
	if len(buf) < size {
		return 0, errBufferTooSmall
	}
	if size > MaxPacketSize {
		return 0, errPacketTooLarge
	}
	binary.BigEndian.PutUint16(buf, uint16(OpOACK))
	n, err := putOptions(buf[2:], p.Options)
	if err != nil {
		return 0, err
	}
	return 2 + n, nil
}

// Unmarshal decodes an OACK.
func (p *OptionAck) Unmarshal(buf []byte) error {
	if _, err := checkOpcode(buf, 2, OpOACK); err != nil {
		return err
	}
	strs, err := splitStrings(buf[2:])
	if err != nil {
		return err
	}
	opts, err := parseOptions(strs)
	if err != nil {
		return err
	}
	p.Options = opts
	return nil
}
