"""ips-sim: discrete-event simulation of the capacity of an IPS supported-employment program."""

__version__ = "0.1.0"
