"""BitROM characterization on sky130 and a BitNet b1.58 chip model."""
