// Protocol numbers and field limits named after RFC 3768 (VRRPv2) and RFC 5798 (VRRPv3).

export const IPPROTO_VRRP = 112;
/** Every VRRP packet is sent with TTL / Hop Limit 255 and receivers check it (RFC 5798 §5.1.1.3, §7.1). */
export const VRRP_TTL = 255;
export const VRRP_VERSION_2 = 2;
export const VRRP_VERSION_3 = 3;
/** The only packet type either version defines (RFC 5798 §5.2.2). */
export const VRRP_TYPE_ADVERTISEMENT = 1;
/** Fixed part of the VRRP message: version/type, VRID, priority, count, 2 bytes, checksum. */
export const VRRP_HEADER_LENGTH = 8;
/** VRRPv2 carries 8 bytes of authentication data after the addresses (RFC 3768 §5.3.10). */
export const VRRP_V2_AUTH_DATA_LENGTH = 8;

/** RFC 3768 §5.3.6 authentication types. keepalived still speaks 2 (IPsec AH); lvsd does not. */
export const VRRP_AUTH_NONE = 0;
export const VRRP_AUTH_SIMPLE_PASSWORD = 1;
export const VRRP_AUTH_IP_AH = 2;

/** Priority 255: the address owner (RFC 5798 §5.2.4). Priority 0: the master is leaving. */
export const VRRP_PRIORITY_OWNER = 255;
export const VRRP_PRIORITY_STOP = 0;
export const VRRP_PRIORITY_DEFAULT = 100;

/** VRRPv3 Max Advert Interval: 12 bits of centiseconds (RFC 5798 §5.2.7). */
export const VRRP_V3_MAX_ADVER_INT_CS = 0x0fff;
/** VRRPv2 Advert Interval: 8 bits of seconds (RFC 3768 §5.3.7). */
export const VRRP_V2_MAX_ADVER_INT_S = 0xff;
