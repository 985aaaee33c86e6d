"""Example of a sandbox-safe converter."""

from pathlib import Path
import json


class SafeCSVConverter:
    """Converts CSV files to WATS reports."""
    
    @property
    def name(self) -> str:
        return "SafeCSVConverter"
    
    @property
    def file_patterns(self) -> list:
        return ["*.csv"]
    
    def convert_file(self, file_path: Path, args: dict):
        """
        Convert a CSV file to a report.
        
        Args:
            file_path: Path to input file (sandbox provides access)
            args: Converter arguments from config
        
        Returns:
            dict with status, report, and metadata
        """
        try:
            # Read input (allowed via READ_INPUT capability)
            content = file_path.read_text()
            lines = content.strip().split('\n')
            
            # Parse CSV (simple example)
            header = lines[0].split(',')
            data = [line.split(',') for line in lines[1:]]
            
            # Build report
            report = {
                "type": "UUT",
                "partNumber": args.get("part_number", "UNKNOWN"),
                "serialNumber": data[0][0] if data else "UNKNOWN",
                "result": "Passed",
            }
            
            return {
                "status": "Success",
                "report": report,
                "metadata": {
                    "rows_processed": len(data),
                }
            }
            
        except Exception as e:
            return {
                "status": "Failed",
                "error": str(e),
            }
