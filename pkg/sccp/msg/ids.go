package msg

import "fmt"

// MessageID is the SCCP message identifier at frame offset 8 (docs/sccp.md §Messages).
type MessageID uint32

// Phone → server (docs/sccp.md §Phone-to-server).
const (
	IDKeepAlive               MessageID = 0x0000
	IDRegister                MessageID = 0x0001
	IDIpPort                  MessageID = 0x0002
	IDKeypadButton            MessageID = 0x0003
	IDEnblocCall              MessageID = 0x0004
	IDStimulus                MessageID = 0x0005
	IDOffHook                 MessageID = 0x0006
	IDOnHook                  MessageID = 0x0007
	IDHookFlash               MessageID = 0x0008
	IDForwardStatReq          MessageID = 0x0009
	IDSpeedDialStatReq        MessageID = 0x000A
	IDLineStatReq             MessageID = 0x000B
	IDConfigStatReq           MessageID = 0x000C
	IDTimeDateReq             MessageID = 0x000D
	IDButtonTemplateReq       MessageID = 0x000E
	IDVersionReq              MessageID = 0x000F
	IDCapabilitiesRes         MessageID = 0x0010
	IDServerReq               MessageID = 0x0012
	IDAlarm                   MessageID = 0x0020
	IDOpenReceiveChannelAck   MessageID = 0x0022
	IDConnectionStatisticsRes MessageID = 0x0023
	IDSoftKeySetReq           MessageID = 0x0025
	IDSoftKeyEvent            MessageID = 0x0026
	IDUnregister              MessageID = 0x0027
	IDSoftKeyTemplateReq      MessageID = 0x0028
	IDRegisterTokenReq        MessageID = 0x0029
	IDMediaTransmissionFail   MessageID = 0x002A
	IDHeadsetStatus           MessageID = 0x002B
	IDRegisterAvailableLines  MessageID = 0x002D
	IDUpdateCapabilities      MessageID = 0x0030
	IDServiceURLStatReq       MessageID = 0x0033
	IDFeatureStatReq          MessageID = 0x0034
	IDCapabilitiesV2Res       MessageID = 0x0043
	IDCapabilitiesV3Res       MessageID = 0x0044
	IDSubscriptionStatReq     MessageID = 0x0048
	IDAccessoryStatus         MessageID = 0x0049 // WS: MediaPathEvent
	IDMediaPathCapability     MessageID = 0x004A
	IDStartMediaTransmitAck   MessageID = 0x0154
	IDLocationInfo            MessageID = 0x0157
	IDAddOnDeviceCapabilities MessageID = 0x0159
	IDEnhancedAlarm           MessageID = 0x015A
)

// Server → phone (docs/sccp.md §Server-to-phone).
const (
	IDRegisterAck             MessageID = 0x0081
	IDStartTone               MessageID = 0x0082
	IDStopTone                MessageID = 0x0083
	IDSetRinger               MessageID = 0x0085
	IDSetLamp                 MessageID = 0x0086
	IDSetSpeakerMode          MessageID = 0x0088
	IDSetMicroMode            MessageID = 0x0089
	IDStartMediaTransmission  MessageID = 0x008A
	IDStopMediaTransmission   MessageID = 0x008B
	IDCallInfo                MessageID = 0x008F
	IDForwardStatRes          MessageID = 0x0090
	IDSpeedDialStatRes        MessageID = 0x0091
	IDLineStatRes             MessageID = 0x0092
	IDConfigStatRes           MessageID = 0x0093
	IDDefineTimeDate          MessageID = 0x0094
	IDButtonTemplateRes       MessageID = 0x0097
	IDVersionRes              MessageID = 0x0098
	IDDisplayText             MessageID = 0x0099
	IDClearDisplay            MessageID = 0x009A // never send: resets 7975 9.x (docs/sccp.md §Server-to-phone)
	IDCapabilitiesReq         MessageID = 0x009B
	IDRegisterReject          MessageID = 0x009D
	IDServerRes               MessageID = 0x009E
	IDReset                   MessageID = 0x009F
	IDKeepAliveAck            MessageID = 0x0100
	IDOpenReceiveChannel      MessageID = 0x0105
	IDCloseReceiveChannel     MessageID = 0x0106
	IDConnectionStatisticsReq MessageID = 0x0107
	IDSoftKeyTemplateRes      MessageID = 0x0108
	IDSoftKeySetRes           MessageID = 0x0109
	IDSelectSoftKeys          MessageID = 0x0110
	IDCallState               MessageID = 0x0111
	IDDisplayPromptStatus     MessageID = 0x0112
	IDClearPromptStatus       MessageID = 0x0113
	IDDisplayNotify           MessageID = 0x0114
	IDClearNotify             MessageID = 0x0115
	IDActivateCallPlane       MessageID = 0x0116
	IDDeactivateCallPlane     MessageID = 0x0117
	IDUnregisterAck           MessageID = 0x0118
	IDBackSpaceRes            MessageID = 0x0119
	IDRegisterTokenAck        MessageID = 0x011A
	IDRegisterTokenReject     MessageID = 0x011B
	IDDialedNumber            MessageID = 0x011D
	IDFeatureStatRes          MessageID = 0x011F
	IDDisplayPriNotify        MessageID = 0x0120
	IDClearPriNotify          MessageID = 0x0121
	IDServiceURLStatRes       MessageID = 0x012F
	IDConfigStatV2Res         MessageID = 0x0142
	IDDisplayNotifyV2         MessageID = 0x0143
	IDDisplayPriNotifyV2      MessageID = 0x0144
	IDDisplayPromptStatusV2   MessageID = 0x0145
	IDFeatureStatV2Res        MessageID = 0x0146
	IDLineStatV2Res           MessageID = 0x0147
	IDServiceURLStatV2Res     MessageID = 0x0148
	IDSpeedDialStatV2Res      MessageID = 0x0149
	IDCallInfoV2              MessageID = 0x014A
	IDSubscriptionStatRes     MessageID = 0x0152
	IDNotification            MessageID = 0x0153
	IDCallHistoryInfo         MessageID = 0x0156
)

var idNames = map[MessageID]string{
	IDKeepAlive: "KeepAlive", IDRegister: "Register", IDIpPort: "IpPort",
	IDKeypadButton: "KeypadButton", IDEnblocCall: "EnblocCall", IDStimulus: "Stimulus",
	IDOffHook: "OffHook", IDOnHook: "OnHook", IDHookFlash: "HookFlash",
	IDForwardStatReq: "ForwardStatReq", IDSpeedDialStatReq: "SpeedDialStatReq",
	IDLineStatReq: "LineStatReq", IDConfigStatReq: "ConfigStatReq", IDTimeDateReq: "TimeDateReq",
	IDButtonTemplateReq: "ButtonTemplateReq", IDVersionReq: "VersionReq",
	IDCapabilitiesRes: "CapabilitiesRes", IDServerReq: "ServerReq", IDAlarm: "Alarm",
	IDOpenReceiveChannelAck: "OpenReceiveChannelAck", IDConnectionStatisticsRes: "ConnectionStatisticsRes",
	IDSoftKeySetReq: "SoftKeySetReq", IDSoftKeyEvent: "SoftKeyEvent", IDUnregister: "Unregister",
	IDSoftKeyTemplateReq: "SoftKeyTemplateReq", IDRegisterTokenReq: "RegisterTokenReq",
	IDMediaTransmissionFail: "MediaTransmissionFailure", IDHeadsetStatus: "HeadsetStatus",
	IDRegisterAvailableLines: "RegisterAvailableLines", IDUpdateCapabilities: "UpdateCapabilities",
	IDServiceURLStatReq: "ServiceURLStatReq", IDFeatureStatReq: "FeatureStatReq",
	IDCapabilitiesV2Res: "CapabilitiesV2Res", IDCapabilitiesV3Res: "CapabilitiesV3Res",
	IDSubscriptionStatReq: "SubscriptionStatReq", IDAccessoryStatus: "AccessoryStatus",
	IDMediaPathCapability: "MediaPathCapability", IDStartMediaTransmitAck: "StartMediaTransmissionAck",
	IDLocationInfo: "LocationInfo", IDAddOnDeviceCapabilities: "AddOnDeviceCapabilities",
	IDEnhancedAlarm: "EnhancedAlarm",
	IDRegisterAck:   "RegisterAck", IDStartTone: "StartTone", IDStopTone: "StopTone",
	IDSetRinger: "SetRinger", IDSetLamp: "SetLamp", IDSetSpeakerMode: "SetSpeakerMode",
	IDSetMicroMode: "SetMicroMode", IDStartMediaTransmission: "StartMediaTransmission",
	IDStopMediaTransmission: "StopMediaTransmission", IDCallInfo: "CallInfo",
	IDForwardStatRes: "ForwardStatRes", IDSpeedDialStatRes: "SpeedDialStatRes",
	IDLineStatRes: "LineStatRes", IDConfigStatRes: "ConfigStatRes", IDDefineTimeDate: "DefineTimeDate",
	IDButtonTemplateRes: "ButtonTemplateRes", IDVersionRes: "VersionRes", IDDisplayText: "DisplayText",
	IDClearDisplay: "ClearDisplay", IDCapabilitiesReq: "CapabilitiesReq",
	IDRegisterReject: "RegisterReject", IDServerRes: "ServerRes", IDReset: "Reset",
	IDKeepAliveAck: "KeepAliveAck", IDOpenReceiveChannel: "OpenReceiveChannel",
	IDCloseReceiveChannel: "CloseReceiveChannel", IDConnectionStatisticsReq: "ConnectionStatisticsReq",
	IDSoftKeyTemplateRes: "SoftKeyTemplateRes", IDSoftKeySetRes: "SoftKeySetRes",
	IDSelectSoftKeys: "SelectSoftKeys", IDCallState: "CallState",
	IDDisplayPromptStatus: "DisplayPromptStatus", IDClearPromptStatus: "ClearPromptStatus",
	IDDisplayNotify: "DisplayNotify", IDClearNotify: "ClearNotify",
	IDActivateCallPlane: "ActivateCallPlane", IDDeactivateCallPlane: "DeactivateCallPlane",
	IDUnregisterAck: "UnregisterAck", IDBackSpaceRes: "BackSpaceRes",
	IDRegisterTokenAck: "RegisterTokenAck", IDRegisterTokenReject: "RegisterTokenReject",
	IDDialedNumber: "DialedNumber", IDFeatureStatRes: "FeatureStatRes",
	IDDisplayPriNotify: "DisplayPriNotify", IDClearPriNotify: "ClearPriNotify",
	IDServiceURLStatRes: "ServiceURLStatRes", IDConfigStatV2Res: "ConfigStatV2Res",
	IDDisplayNotifyV2: "DisplayNotifyV2", IDDisplayPriNotifyV2: "DisplayPriNotifyV2",
	IDDisplayPromptStatusV2: "DisplayPromptStatusV2", IDFeatureStatV2Res: "FeatureStatV2Res",
	IDLineStatV2Res: "LineStatV2Res", IDServiceURLStatV2Res: "ServiceURLStatV2Res",
	IDSpeedDialStatV2Res: "SpeedDialStatV2Res", IDCallInfoV2: "CallInfoV2",
	IDSubscriptionStatRes: "SubscriptionStatRes", IDNotification: "Notification",
	IDCallHistoryInfo: "CallHistoryInfo",
}

// String returns the message name and hex id, e.g. "SetLamp(0x0086)".
func (id MessageID) String() string {
	if n, ok := idNames[id]; ok {
		return fmt.Sprintf("%s(0x%04X)", n, uint32(id))
	}
	return fmt.Sprintf("Unknown(0x%04X)", uint32(id))
}
