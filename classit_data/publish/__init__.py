"""``push``: publish a built dataset folder to the Hugging Face Hub.

The stage is ``classit_data.publish.push.push`` (a package attribute of that name is its module, so the package
does not re-export it).
"""
