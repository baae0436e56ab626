#!/usr/bin/env python3
"""moto's standalone server, with the part of EC2 this project reads and moto 5.2.5 lacks.

VPC Block Public Access (the account's mode and its exclusions, per account and region):
DescribeVpcBlockPublicAccessOptions, ModifyVpcBlockPublicAccessOptions,
DescribeVpcBlockPublicAccessExclusions, CreateVpcBlockPublicAccessExclusion. Without them moto
answers these actions with an HTML 500, and every check that reads the internet's way in would
fail. The answers go through moto's own serializer (botocore's EC2 model), so the SDK parses
the shapes AWS sends. Everything else is moto, unchanged.

Usage: moto_server.py -H 127.0.0.1 -p PORT   (moto_server's own arguments)
"""
import threading
import uuid

from moto.core.responses import ActionResult
from moto.ec2.responses import EC2Response
from moto.server import main

LOCK = threading.Lock()
# (account, region) -> {"mode": ..., "state": ..., "exclusions": [...]}
BLOCKS = {}


def _block(response):
    key = (response.current_account, response.region)
    return BLOCKS.setdefault(key, {"mode": "off", "state": "default-state", "exclusions": []})


def _options(response, block):
    return {
        "AwsAccountId": response.current_account,
        "AwsRegion": response.region,
        "State": block["state"],
        "InternetGatewayBlockMode": block["mode"],
        "ExclusionsAllowed": "allowed",
    }


def describe_vpc_block_public_access_options(self):
    with LOCK:
        block = _block(self)
        return ActionResult({"VpcBlockPublicAccessOptions": _options(self, block)})


def modify_vpc_block_public_access_options(self):
    mode = self._get_param("InternetGatewayBlockMode")
    with LOCK:
        block = _block(self)
        block["mode"] = mode
        block["state"] = "update-complete"
        return ActionResult({"VpcBlockPublicAccessOptions": _options(self, block)})


def create_vpc_block_public_access_exclusion(self):
    subnet, vpc = self._get_param("SubnetId"), self._get_param("VpcId")
    resource = f"subnet/{subnet}" if subnet else f"vpc/{vpc}"
    exclusion = {
        "ExclusionId": "vpcbpa-exclude-" + uuid.uuid4().hex[:17],
        "InternetGatewayExclusionMode": self._get_param("InternetGatewayExclusionMode"),
        "ResourceArn": f"arn:aws:ec2:{self.region}:{self.current_account}:{resource}",
        "State": "create-complete",
    }
    with LOCK:
        _block(self)["exclusions"].append(exclusion)
    return ActionResult({"VpcBlockPublicAccessExclusion": exclusion})


def describe_vpc_block_public_access_exclusions(self):
    with LOCK:
        exclusions = list(_block(self)["exclusions"])
    return ActionResult({"VpcBlockPublicAccessExclusions": exclusions})


for handler in (
    describe_vpc_block_public_access_options,
    modify_vpc_block_public_access_options,
    create_vpc_block_public_access_exclusion,
    describe_vpc_block_public_access_exclusions,
):
    setattr(EC2Response, handler.__name__, handler)

if __name__ == "__main__":
    main()
