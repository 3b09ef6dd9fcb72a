package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/messages"
)

// createFlags are the flags of "vm create".
type createFlags struct {
	name, uuid, typ, memory, kernel, fromFile string
	ramdisk, cmdline                          string
	vcpus                                     uint32
	vbds, vifs                                []string
	place                                     placeFlags
}

// vmCreateCommand is "vm create".
func (a *app) vmCreateCommand() *cobra.Command {
	f := &createFlags{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Register a VM (Halted) from flags or a spec file, and print its uuid",
		Example: "  xenactor vm create --name web --type pv --vcpus 2 --memory 512M --kernel /boot/vmlinuz \\\n" +
			"      --vbd devid=51712,params=/dev/loop0 --vif devid=0,mac=00:16:3e:00:00:01,bridge=xenbr0\n" +
			"  xenactor vm create --from-file web.json",
		Args: exactArgs(0),
		RunE: a.run(func(ctx context.Context, c *client.Client, _ []string) error {
			spec, err := f.spec()
			if err != nil {
				return err
			}
			pc, err := f.place.client(c)
			if err != nil {
				return err
			}
			host, err := pc.PlaceVM(ctx, spec)
			if err != nil {
				return err
			}
			if host != "" && !a.json {
				fmt.Fprintf(a.opts.Stderr, "created on host %s\n", host)
			}
			if a.json {
				return a.printJSON(spec)
			}
			_, err = fmt.Fprintln(a.opts.Stdout, spec.Uuid)
			return err
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "the VM's name")
	fl.StringVar(&f.uuid, "uuid", "", "the VM's uuid; generated when absent")
	fl.StringVar(&f.typ, "type", "pv", "the domain type: pv, pvh or hvm")
	fl.Uint32Var(&f.vcpus, "vcpus", 1, "the number of vCPUs")
	fl.StringVar(&f.memory, "memory", "256M", "the memory (K, M, G or T; e.g. 512M, 2G)")
	fl.StringVar(&f.kernel, "kernel", "", "the kernel of a PV or PVH VM")
	fl.StringVar(&f.ramdisk, "ramdisk", "", "the kernel's initial ramdisk")
	fl.StringVar(&f.cmdline, "cmdline", "", "the kernel's command line")
	fl.StringArrayVar(&f.vbds, "vbd", nil, "a disk: devid=51712,params=/dev/loop0[,ro][,vdi=sr/key]; repeatable")
	fl.StringArrayVar(&f.vifs, "vif", nil, "a network interface: devid=0,mac=..,bridge=..; repeatable")
	fl.StringVar(&f.fromFile, "from-file", "", "a VM spec in protojson (the other flags, but --uuid, are ignored)")
	f.place.add(cmd, "create the VM")
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions([]string{"pv", "pvh", "hvm"},
		cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("from-file", "json")
	return cmd
}

// spec builds the VM spec from the flags or the spec file.
func (f *createFlags) spec() (*messages.VMSpec, error) {
	spec := &messages.VMSpec{}
	if f.fromFile != "" {
		b, err := os.ReadFile(f.fromFile)
		if err != nil {
			return nil, usage(err)
		}
		if err := protojson.Unmarshal(b, spec); err != nil {
			return nil, usagef("%s: %v", f.fromFile, err)
		}
	} else {
		var err error
		spec.Name, spec.Kernel, spec.Vcpus = f.name, f.kernel, f.vcpus
		spec.Ramdisk, spec.Cmdline = f.ramdisk, f.cmdline
		if spec.Type, err = parseDomainType(f.typ); err != nil {
			return nil, err
		}
		if spec.MemoryKib, err = parseMemory(f.memory); err != nil {
			return nil, err
		}
		for _, s := range f.vbds {
			vbd, err := parseVBD(s)
			if err != nil {
				return nil, err
			}
			spec.Vbds = append(spec.Vbds, vbd)
		}
		for _, s := range f.vifs {
			vif, err := parseVIF(s)
			if err != nil {
				return nil, err
			}
			spec.Vifs = append(spec.Vifs, vif)
		}
	}
	if f.uuid != "" {
		spec.Uuid = f.uuid
	}
	if spec.Uuid == "" {
		spec.Uuid = newUUID()
	}
	return spec, nil
}
