"""Host links other than a simulator's own ports: the UART bridge of the self-test SoC (``uart``)."""
