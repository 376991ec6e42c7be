"""The demo data of ``shine demo``: loaders that enter a synthetic trial through the same audited services as
real entry (so ``shine audit verify`` passes), kept apart from the capability apps they call.

* :mod:`.randomisation`: an active randomisation list and packs at every site.
* :mod:`.trial`: simulated participants screened, consented, randomised and their case report forms.
"""
