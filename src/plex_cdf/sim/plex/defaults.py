"""The simulated tenant's default credentials and PCN: light, so the command line can show them without
loading the simulator."""

DEFAULT_API_KEY = "sim-key"
DEFAULT_PCN = "340884"
DEFAULT_DS_USER = "sim-user"
DEFAULT_DS_PASSWORD = "sim-password"
