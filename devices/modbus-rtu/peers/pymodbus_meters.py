#!/usr/bin/python3
"""Meters played by pymodbus (Debian's python3-pymodbus), an implementation independent of hearth's,
for the meter models' tests. Usage: pymodbus_meters.py PORT BAUD MODEL SLAVE

MODEL is one of:
  eastron   an Eastron three-phase meter's input registers 0x0000-0x017F (SDM630 and SDM72D-M-2 map):
            float32, high word first, with the values of EASTRON below; unused registers read 0.
  pzem      a PZEM-004T v3: input registers 0-9 (integers, 32-bit ones low word first) with the values
            of PZEM below, holding registers 1 (alarm threshold, W) and 2 (address), and its own
            function 0x42 (no data), which zeroes the energy counter and echoes the request.
Prints "ready" once the port is open."""
import asyncio
import struct
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.pdu import ModbusRequest, ModbusResponse
from pymodbus.server.async_io import StartAsyncSerialServer
from pymodbus.transaction import ModbusRtuFramer

# Register address: value, as the Eastron map places them.
EASTRON = {
    0x0000: 229.5, 0x0002: 230.5, 0x0004: 231.5,  # voltage L1-L3, V
    0x0006: 1.5, 0x0008: 2.5, 0x000A: 3.5,  # current L1-L3, A
    0x000C: 340.0, 0x000E: 570.25, 0x0010: 800.5,  # active power L1-L3, W
    0x001E: 0.99, 0x0020: 0.95, 0x0022: 0.9,  # power factor L1-L3
    0x0034: 1710.75,  # total system power, W
    0x0046: 50.02,  # frequency, Hz
    0x0048: 4321.25, 0x004A: 12.5,  # import, export active energy, kWh
    0x0156: 4333.75,  # total active energy, kWh
}

# Raw integers of the PZEM's input registers: 230.1 V, 70.000 A, 12345.6 W, 654321 Wh, 49.9 Hz, PF 0.97, alarm on.
PZEM = {"voltage": 2301, "current": 70000, "power": 123456, "energy": 654321, "frequency": 499, "power_factor": 97, "alarm": 0xFFFF}


def low_first(n):
    return [n & 0xFFFF, n >> 16]


def eastron():
    words = [0] * 0x180
    for address, value in EASTRON.items():
        words[address : address + 2] = struct.unpack(">HH", struct.pack(">f", value))
    return ModbusSlaveContext(ir=ModbusSequentialDataBlock(0, words), zero_mode=True)


def pzem(slave):
    p = PZEM
    words = [p["voltage"], *low_first(p["current"]), *low_first(p["power"]), *low_first(p["energy"]), p["frequency"], p["power_factor"], p["alarm"]]
    return ModbusSlaveContext(ir=ModbusSequentialDataBlock(0, words), hr=ModbusSequentialDataBlock(0, [0, 2300, slave]), zero_mode=True)


class ResetEnergy:
    """The PZEM's function 0x42, request and reply alike: no data (address, code, CRC)."""

    function_code = 0x42
    _rtu_frame_size = 4

    def encode(self):
        return b""

    def decode(self, data):
        pass


class ResetEnergyResponse(ResetEnergy, ModbusResponse):
    """The echo of the request."""


class ResetEnergyRequest(ResetEnergy, ModbusRequest):
    """Zeroes the energy counter (input registers 5-6) and answers with the echo."""

    def execute(self, context):
        context.setValues(4, 5, [0, 0])
        return ResetEnergyResponse()


async def main():
    port, baud, model, slave = sys.argv[1:]
    slave = int(slave)
    context = ModbusServerContext(slaves={slave: eastron() if model == "eastron" else pzem(slave)}, single=False)
    server = await StartAsyncSerialServer(
        context=context, framer=ModbusRtuFramer, port=port, baudrate=int(baud), ignore_missing_slaves=True, defer_start=True
    )
    if model == "pzem":
        server.decoder.register(ResetEnergyRequest)
    await server.start()
    print("ready", flush=True)
    await server.serve_forever()


asyncio.run(main())
