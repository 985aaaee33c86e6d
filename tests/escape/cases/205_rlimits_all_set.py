# escape: raise any resource limit the runner forgot to set (every one must be the job's, soft and hard, so that none can be raised): core dumps, descriptors, file size, CPU, memory
# layer: rlimit
# args: --skip-validation --max-files 32 --cpu 7 --memory 300 --max-output 8
# expect: completed status=Success report.core=[0,0] report.nofile=[36,36] report.cpu=[7,8] report.as=[314572800,314572800] report.fsize=[8388608,8388608] report.raised=[]
import resource

NAMES = {"core": resource.RLIMIT_CORE, "nofile": resource.RLIMIT_NOFILE,
         "cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS, "fsize": resource.RLIMIT_FSIZE,
         "nproc": resource.RLIMIT_NPROC}


class Limits:
    def convert_file(self, file_path, args):
        report = {name: list(resource.getrlimit(r)) for name, r in NAMES.items()}
        raised = []
        for name, r in NAMES.items():
            soft, hard = resource.getrlimit(r)
            if hard == resource.RLIM_INFINITY:  # then the soft limit is ours to lift
                try:
                    resource.setrlimit(r, (hard, hard))
                    raised.append(name)
                except (OSError, ValueError):
                    pass
        report["raised"] = raised
        return {"status": "Success", "report": report}
