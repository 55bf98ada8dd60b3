"""Host firewall rules for the stack's ports (nftables), when ``firewall_allow`` lists the networks let in.

The deploy itself is ``reasoning_stack.deploys.stack_firewall``; this file is what the pyinfra CLI runs.
"""

from reasoning_stack.deploys import stack_firewall

stack_firewall()
