#!/usr/bin/python3
"""The CAN-to-MQTT bridge a user would write with python-can and paho-mqtt,
speaking anysock's payload (docs/mqtt.md), for bench/mqtt_suite.py to
measure against: every frame of the bus published to PREFIX/BUS/f/NODE,
every frame another node publishes put on the bus.

  mqtt_bridge.py INTERFACE HOST PORT PREFIX/BUS NODE
"""
import struct
import sys
import time

import can
import paho.mqtt.client as mqtt

ifc, host, port, bus_topic, node = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
bus = can.Bus(interface="socketcan", channel=ifc, receive_own_messages=False)
prefix = f"{bus_topic}/f/"


def on_message(client, userdata, msg):
    if msg.topic == prefix + node or len(msg.payload) < 16 or msg.payload[0] != 1:
        return
    _v, flags, _dlc, _rlen, ident, _t = struct.unpack(">BBBBIQ", msg.payload[:16])
    bus.send(can.Message(arbitration_id=ident & 0x1FFFFFFF, is_extended_id=bool(ident & 0x80000000),
                         is_remote_frame=bool(ident & 0x40000000), is_fd=bool(flags & 1),
                         bitrate_switch=bool(flags & 2), data=msg.payload[16:]))


client = mqtt.Client(client_id=node)
client.on_message = on_message
client.on_connect = lambda c, u, f, rc: c.subscribe(prefix + "+")
client.connect(host, port)
client.loop_start()
print(f"listening can://{ifc} <-> mqtt://{host}:{port}/{bus_topic}", flush=True)
for m in bus:
    ident = m.arbitration_id | (0x80000000 if m.is_extended_id else 0) | (0x40000000 if m.is_remote_frame else 0)
    flags = (1 if m.is_fd else 0) | (2 if m.bitrate_switch else 0)
    client.publish(prefix + node, struct.pack(">BBBBIQ", 1, flags, 0, 0, ident, int(time.time() * 1e6)) + bytes(m.data))
