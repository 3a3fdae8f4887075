#!/usr/bin/python3
"""Modbus RTU slaves played by pymodbus (Debian's python3-pymodbus), an implementation independent
of hearth's, for the master's tests. Usage: pymodbus_slaves.py PORT BAUD SLAVE...

Each slave N has 20 of each table from address 0: holding register i holds N*100+i, input
registers 0-1 hold the float32 230.5+N (high word first), coil i is on for even i, discrete input
i is on for odd i. Addresses from 20 give exception 2; a slave not listed does not answer.
Prints "ready" once the port is open."""
import asyncio
import struct
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server.async_io import StartAsyncSerialServer
from pymodbus.transaction import ModbusRtuFramer


def slave(n):
    hi, lo = struct.unpack(">HH", struct.pack(">f", 230.5 + n))
    return ModbusSlaveContext(
        co=ModbusSequentialDataBlock(0, [i % 2 == 0 for i in range(20)]),
        di=ModbusSequentialDataBlock(0, [i % 2 == 1 for i in range(20)]),
        hr=ModbusSequentialDataBlock(0, [n * 100 + i for i in range(20)]),
        ir=ModbusSequentialDataBlock(0, [hi, lo] + [0] * 18),
        zero_mode=True,
    )


async def main():
    port, baud, *ids = sys.argv[1:]
    context = ModbusServerContext(slaves={int(i): slave(int(i)) for i in ids}, single=False)
    server = await StartAsyncSerialServer(
        context=context, framer=ModbusRtuFramer, port=port, baudrate=int(baud), ignore_missing_slaves=True, defer_start=True
    )
    await server.start()
    print("ready", flush=True)
    await server.serve_forever()


asyncio.run(main())
