"""haiked lab kit: network-namespace labs for tests and fixture generators.

Building blocks (Python 3 stdlib only):
  netns    -- Lab: namespaces, veth pairs, addresses from the lab ranges only
  proc     -- processes inside namespaces with a private /run, tracked by PID
  charon   -- a stock strongSwan charon instance driven through swanctl
  capture  -- tshark captures and a small pcapng reader
  topo     -- standard topologies (gateway pair on a WAN veth)
  ike      -- IKEv2 header/payload parsing for the checks (struct only)
  charonlog-- parser of charon level-4 filelogs (key dumps, nonces, SPIs)
  kdf      -- RFC 7296 prf+/SKEYSEED/KEYMAT in Python, to cross-check fixtures
  scenario -- the strongSwan <-> strongSwan exchange used for the fixtures
  fixtures -- writes tests/fixtures/strongswan/<suite>/ from one run
  checks   -- offline checks of a suite directory

Everything a Lab creates is recorded on the Lab and removed by Lab.close(),
which is idempotent and never touches anything it did not create.
"""
